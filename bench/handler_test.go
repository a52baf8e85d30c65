package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	slogtrace "github.com/DataDog/dd-trace-go/contrib/log/slog/v2"
	"github.com/DataDog/dd-trace-go/v2/ddtrace/tracer"
	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// A line is one logging call, as written in application code.
type line struct {
	name string
	log  func(ctx context.Context, l *slog.Logger)
}

var lines = []line{
	// The call a new user tries first.
	{"short", func(ctx context.Context, l *slog.Logger) {
		l.InfoContext(ctx, "msg", "k", 1, "k2", "v")
	}},
	// A typical request log: seven attributes, more than a slog.Record
	// stores inline.
	{"typical", func(ctx context.Context, l *slog.Logger) {
		l.InfoContext(ctx, "request handled", "method", "GET", "route", "/api/orders/{id}", "status", 200,
			"elapsed", 1500*time.Microsecond, "bytes", 5120, "user", "u-1842", "cache_hit", false)
	}},
}

// groups say whether the logger has a group open.
var groups = []struct {
	name  string
	apply func(*slog.Logger) *slog.Logger
}{
	{"none", func(l *slog.Logger) *slog.Logger { return l }},
	{"open", func(l *slog.Logger) *slog.Logger { return l.WithGroup("req") }},
}

// rotateEvery is how many lines a span receives before the benchmark of a
// handler that records lines as span events ends it and starts the next:
// the SDK keeps at most 128 events per span and, past that, shifts the
// whole list on every new event, which no request with a few log lines
// pays.
const rotateEvery = 100

// handlerSetup is a logger ready to log, and the context of its tracer's
// span.
type handlerSetup struct {
	logger *slog.Logger
	ctx    context.Context
	// rotate, when set, ends the span and returns the context of a new one.
	rotate func() context.Context
	// traceID and spanID are what the handler should write for the span in
	// ctx.
	traceID, spanID string
	// records returns what an OpenTelemetry log pipeline exported.
	records func(context.Context) []sdklog.Record
}

// A handlerImpl makes a logger of one implementation writing to w (JSON
// handlers) with a span of its own tracer in the context. Everything it
// starts is stopped by tb's cleanup.
type handlerImpl struct {
	name string
	new  func(tb testing.TB, w io.Writer) *handlerSetup
}

// handlerImpls are the compared implementations. dd-trace-go's comes first:
// `benchstat -col /impl` compares the others with it.
var handlerImpls = []handlerImpl{
	{"ddtrace", newDDTraceHandler},
	{"ddslog", func(tb testing.TB, w io.Writer) *handlerSetup { return newDDSlogHandler(tb, w, nil) }},
	{"ddslog-noevents", func(tb testing.TB, w io.Writer) *handlerSetup {
		return newDDSlogHandler(tb, w, &ddslog.HandlerOptions{DisableEvents: true})
	}},
	{"otelslog", newOTelSlogHandler},
}

// newDDTraceHandler is dd-trace-go's contrib/log/slog handler over the JSON
// handler, with a span of dd-trace-go's tracer in ctx.
func newDDTraceHandler(tb testing.TB, w io.Writer) *handlerSetup {
	startDDTrace(tb, newMemAgent(), false)
	span := tracer.StartSpan("http.request", tracer.ResourceName("GET /api/orders/{id}"))
	tb.Cleanup(func() {
		span.Finish()
		tracer.Stop()
	})
	return &handlerSetup{
		logger:  slog.New(slogtrace.NewJSONHandler(w, nil)),
		ctx:     tracer.ContextWithSpan(context.Background(), span),
		traceID: span.Context().TraceID(), // 128-bit hex: its default
		spanID:  uint64String(span.Context().SpanID()),
	}
}

// newDDSlogHandler is ddslog's handler over the JSON handler, with a
// recording OpenTelemetry SDK span in ctx. With the default options each
// line also becomes an event on that span.
func newDDSlogHandler(tb testing.TB, w io.Writer, opts *ddslog.HandlerOptions) *handlerSetup {
	tp := sdktrace.NewTracerProvider()
	tr := tp.Tracer("bench")
	ctx, span := tr.Start(context.Background(), "GET /api/orders/{id}", trace.WithSpanKind(trace.SpanKindServer))
	tb.Cleanup(func() {
		span.End()
		_ = tp.Shutdown(context.Background())
	})
	s := &handlerSetup{
		logger: slog.New(ddslog.NewHandler(slog.NewJSONHandler(w, nil), opts)),
		ctx:    ctx,
	}
	s.traceID, s.spanID, _ = ddslog.Correlation(ctx)
	if opts == nil || !opts.DisableEvents {
		s.rotate = func() context.Context {
			span.End()
			ctx, span = tr.Start(context.Background(), "GET /api/orders/{id}", trace.WithSpanKind(trace.SpanKindServer))
			return ctx
		}
	}
	return s
}

// newOTelSlogHandler is the otelslog bridge over the OpenTelemetry log
// SDK, with its batch processor (the SDK's production processor) and an
// exporter that discards, with a recording SDK span in ctx. It writes no
// JSON: what it costs is the conversion to an OpenTelemetry log record and
// its hand-off to the processor, not any encoding.
func newOTelSlogHandler(tb testing.TB, _ io.Writer) *handlerSetup {
	exp := &discardExporter{keep: !isBenchmark(tb)}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("bench").Start(context.Background(), "GET /api/orders/{id}", trace.WithSpanKind(trace.SpanKindServer))
	tb.Cleanup(func() {
		span.End()
		_ = tp.Shutdown(context.Background())
		_ = lp.Shutdown(context.Background())
	})
	s := &handlerSetup{
		logger: otelslog.NewLogger("bench", otelslog.WithLoggerProvider(lp)),
		ctx:    ctx,
		records: func(ctx context.Context) []sdklog.Record {
			if err := lp.ForceFlush(ctx); err != nil {
				tb.Errorf("otelslog: ForceFlush: %v", err)
			}
			return exp.exported()
		},
	}
	sc := span.SpanContext()
	s.traceID, s.spanID = sc.TraceID().String(), sc.SpanID().String()
	return s
}

// discardExporter is an OpenTelemetry log exporter that discards, or keeps
// what it is given for a test to read.
type discardExporter struct {
	keep bool
	mu   sync.Mutex
	recs []sdklog.Record
}

func (e *discardExporter) Export(_ context.Context, recs []sdklog.Record) error {
	if e.keep {
		e.mu.Lock()
		for _, r := range recs {
			e.recs = append(e.recs, r.Clone())
		}
		e.mu.Unlock()
	}
	return nil
}

func (e *discardExporter) Shutdown(context.Context) error   { return nil }
func (e *discardExporter) ForceFlush(context.Context) error { return nil }

func (e *discardExporter) exported() []sdklog.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.recs
}

func isBenchmark(tb testing.TB) bool {
	_, ok := tb.(*testing.B)
	return ok
}

// BenchmarkHandler compares the slog integrations of dd-trace-go, ddslog
// and the otelslog bridge on the same calls, each with a span of its own
// tracer in the context. cpu-ns/op is the process's user+system CPU time
// per call (background goroutines included), which a busy machine
// disturbs less than the elapsed time:
//
//	go test -run '^$' -bench BenchmarkHandler -count 10 . > handler.txt
//	benchstat -col /impl handler.txt
func BenchmarkHandler(b *testing.B) {
	for _, ln := range lines {
		for _, g := range groups {
			for _, impl := range handlerImpls {
				b.Run("line="+ln.name+"/group="+g.name+"/impl="+impl.name, func(b *testing.B) {
					s := impl.new(b, io.Discard)
					l, ctx := g.apply(s.logger), s.ctx
					n := 0
					b.ReportAllocs()
					cpu0 := cpuTime(b)
					for b.Loop() {
						if s.rotate != nil {
							if n++; n == rotateEvery {
								ctx, n = s.rotate(), 0
							}
						}
						ln.log(ctx, l)
					}
					b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
				})
			}
		}
	}
}

// lineKeys is what a handler wrote: the keys at the root (for an
// OpenTelemetry log record, its attributes), the keys inside the group
// "req", and the correlation values.
type lineKeys struct {
	Root, Group     []string
	TraceID, SpanID string
}

var lineAttrs = map[string][]string{
	"short":   {"k", "k2"},
	"typical": {"bytes", "cache_hit", "elapsed", "method", "route", "status", "user"},
}

// TestHandlerKeys checks that every compared handler writes what the
// benchmark claims on every benchmarked call: the line's attributes, in the
// group when one is open, and the IDs of the span in the context (at the
// JSON root for the Datadog handlers).
func TestHandlerKeys(t *testing.T) {
	for _, ln := range lines {
		for _, g := range groups {
			for _, impl := range handlerImpls {
				t.Run("line="+ln.name+"/group="+g.name+"/impl="+impl.name, func(t *testing.T) {
					var buf bytes.Buffer
					s := impl.new(t, &buf)
					ln.log(s.ctx, g.apply(s.logger))

					want := lineKeys{TraceID: s.traceID, SpanID: s.spanID}
					var got lineKeys
					if s.records == nil {
						want.Root = []string{"dd.span_id", "dd.trace_id", "level", "msg", "time"}
						got = jsonKeys(t, buf.Bytes())
					} else {
						got = recordKeys(t, s.records(t.Context()))
					}
					if g.name == "open" {
						want.Root = append(want.Root, "req")
						want.Group = lineAttrs[ln.name]
					} else {
						want.Root = append(want.Root, lineAttrs[ln.name]...)
					}
					slices.Sort(want.Root)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("written keys (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

// jsonKeys reads the one JSON line in b.
func jsonKeys(t *testing.T, b []byte) lineKeys {
	t.Helper()
	if bytes.Count(b, []byte("\n")) != 1 {
		t.Fatalf("want one line, got %q", b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v: %q", err, b)
	}
	k := lineKeys{Root: slices.Sorted(maps.Keys(m))}
	k.TraceID, _ = m["dd.trace_id"].(string)
	k.SpanID, _ = m["dd.span_id"].(string)
	if g, ok := m["req"].(map[string]any); ok {
		k.Group = slices.Sorted(maps.Keys(g))
	}
	return k
}

// recordKeys reads the one OpenTelemetry log record in recs.
func recordKeys(t *testing.T, recs []sdklog.Record) lineKeys {
	t.Helper()
	if len(recs) != 1 {
		t.Fatalf("want one record, got %d", len(recs))
	}
	r := recs[0]
	k := lineKeys{TraceID: r.TraceID().String(), SpanID: r.SpanID().String()}
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		k.Root = append(k.Root, string(kv.Key))
		if kv.Key == "req" && kv.Value.Type() == attribute.MAP {
			for _, in := range kv.Value.AsMap() {
				k.Group = append(k.Group, string(in.Key))
			}
		}
		return true
	})
	slices.Sort(k.Root)
	slices.Sort(k.Group)
	return k
}

func uint64String(v uint64) string { return strconv.FormatUint(v, 10) }
