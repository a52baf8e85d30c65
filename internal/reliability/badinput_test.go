package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// Hostile values.
type (
	selfValuer     struct{}
	panicValuer    struct{}
	panicStringer  struct{}
	nilStringer    struct{ s string }
	panicError     struct{}
	nestedStringer struct{ depth int }
)

func (selfValuer) LogValue() slog.Value  { return slog.AnyValue(selfValuer{}) }
func (panicValuer) LogValue() slog.Value { panic("LogValue boom") }
func (panicStringer) String() string     { panic("String boom") }
func (s *nilStringer) String() string    { return s.s } // panics on a nil pointer
func (panicError) Error() string         { panic("Error boom") }
func (n nestedStringer) String() string  { return strings.Repeat("[", n.depth) }

// wireMode is one way the exporter can send what it got.
type wireMode struct {
	name       string
	version    ddexport.APIVersion
	spanEvents bool // what the agent's /info says
}

var wireModes = []wireMode{
	{"v0.4 native events", ddexport.V04, true},
	{"v0.4 events as JSON", ddexport.V04, false},
	{"v0.5", ddexport.V05, false},
}

// hostileCase logs something hostile in the context of its own root span
// (its own trace), and checks, when the agent decoded native span events,
// what became of it.
type hostileCase struct {
	name  string
	log   func(ctx context.Context, l *slog.Logger)
	check func(t *testing.T, s ddtest.Span)
}

func deepGroup(depth int) slog.Attr {
	a := slog.Int("k", 1)
	for range depth {
		a = slog.Group("n", a)
	}
	return a
}

func hostileCases() []hostileCase {
	return []hostileCase{
		{
			name: "10000 attributes",
			log: func(ctx context.Context, l *slog.Logger) {
				args := make([]any, 0, 10000)
				for i := range 10000 {
					args = append(args, slog.Int("k"+strconv.Itoa(i), i))
				}
				l.InfoContext(ctx, "many", args...)
				ddslog.SetAttributes(ctx, args...)
			},
			check: func(t *testing.T, s ddtest.Span) {
				// The tracer provider's limit: 128 attributes per event by default.
				ev := event(t, s, "many")
				if len(ev.Attributes) != sdktrace.DefaultAttributePerEventCountLimit {
					t.Errorf("event has %d attributes, want the SDK limit %d", len(ev.Attributes), sdktrace.DefaultAttributePerEventCountLimit)
				}
			},
		},
		{
			name: "deep groups",
			log: func(ctx context.Context, l *slog.Logger) {
				for range 500 {
					l = l.WithGroup("g")
				}
				l.InfoContext(ctx, "deep", deepGroup(500))
			},
			check: func(t *testing.T, s ddtest.Span) {
				ev := event(t, s, "deep")
				want := strings.Repeat("g.", 500) + strings.Repeat("n.", 500) + "k"
				if v, ok := ev.Attributes[want]; !ok || v.IntValue != 1 {
					t.Errorf("attribute %s...k = %+v, %v; want 1", want[:10], v, ok)
				}
			},
		},
		{
			name: "LogValuer returning itself",
			log: func(ctx context.Context, l *slog.Logger) {
				l.InfoContext(ctx, "self", "v", selfValuer{})
			},
			check: stringAttr("self", "v", "LogValue called too many times"),
		},
		{
			name: "panicking LogValuer",
			log: func(ctx context.Context, l *slog.Logger) {
				l.InfoContext(ctx, "valuer", "v", panicValuer{})
			},
			check: stringAttr("valuer", "v", "LogValue panicked"),
		},
		{
			name: "panicking Stringer",
			log: func(ctx context.Context, l *slog.Logger) {
				l.InfoContext(ctx, "stringer", "v", panicStringer{})
			},
			check: stringAttr("stringer", "v", "!PANIC: String boom"),
		},
		{
			name: "nil pointer Stringer",
			log: func(ctx context.Context, l *slog.Logger) {
				var s *nilStringer
				l.InfoContext(ctx, "nil", "v", s)
			},
			check: stringAttr("nil", "v", "<nil>"),
		},
		{
			name: "panicking error",
			log: func(ctx context.Context, l *slog.Logger) {
				l.ErrorContext(ctx, "failed", "err", panicError{})
				ddslog.RecordError(ctx, panicError{})
			},
			check: func(t *testing.T, s ddtest.Span) {
				if s.Error != 1 {
					t.Errorf("error = %d, want 1", s.Error)
				}
				ev := event(t, s, "exception")
				if got := ev.Attributes["exception.message"].StringValue; !strings.Contains(got, "!PANIC: Error boom") {
					t.Errorf("exception.message = %q", got)
				}
			},
		},
		{
			name: "nil error",
			log: func(ctx context.Context, l *slog.Logger) {
				l.ErrorContext(ctx, "nil error", "err", error(nil))
				ddslog.RecordError(ctx, nil)
			},
			check: stringAttr("nil error", "err", "<nil>"),
		},
		{
			name: "invalid UTF-8",
			log: func(ctx context.Context, l *slog.Logger) {
				l.InfoContext(ctx, "bad\xff", "k\xfe", "\xc3(", slog.Group("g\xff", "v", "\xed\xa0\x80"))
				ddslog.SetAttributes(ctx, "attr\xff", "v\xff")
				trace.SpanFromContext(ctx).SetStatus(codes.Error, "status\xff")
			},
			check: func(t *testing.T, s ddtest.Span) {
				// Sent as they are; the Agent repairs invalid UTF-8.
				event(t, s, "bad\uFFFD")
			},
		},
		{
			name: "NaN and infinities",
			log: func(ctx context.Context, l *slog.Logger) {
				l.InfoContext(ctx, "floats", "nan", math.NaN(), "pinf", math.Inf(1), "ninf", math.Inf(-1),
					"slice", []float64{math.NaN(), math.Inf(1)})
				ddslog.SetAttributes(ctx, "m.nan", math.NaN(), "m.pinf", math.Inf(1), "m.ninf", math.Inf(-1))
			},
			check: func(t *testing.T, s ddtest.Span) {
				ev := event(t, s, "floats")
				nan, pinf, ninf := ev.Attributes["nan"], ev.Attributes["pinf"], ev.Attributes["ninf"]
				if nan.Type != ddtest.DoubleType || !math.IsNaN(nan.DoubleValue) ||
					pinf.Type != ddtest.DoubleType || !math.IsInf(pinf.DoubleValue, 1) ||
					ninf.Type != ddtest.DoubleType || !math.IsInf(ninf.DoubleValue, -1) {
					t.Errorf("nan, +inf, -inf = %+v, %+v, %+v", nan, pinf, ninf)
				}
				if !math.IsNaN(s.Metrics["m.nan"]) || !math.IsInf(s.Metrics["m.pinf"], 1) || !math.IsInf(s.Metrics["m.ninf"], -1) {
					t.Errorf("metrics = %v", s.Metrics)
				}
			},
		},
		{
			name: "zero and negative durations",
			log: func(ctx context.Context, l *slog.Logger) {
				l.InfoContext(ctx, "durations", "zero", time.Duration(0), "neg", -5*time.Second, "min", time.Duration(math.MinInt64))
			},
			check: func(t *testing.T, s ddtest.Span) {
				ev := event(t, s, "durations")
				for k, want := range map[string]int64{"zero": 0, "neg": -5e9, "min": math.MinInt64} {
					if v := ev.Attributes[k]; v.Type != ddtest.IntType || v.IntValue != want {
						t.Errorf("%s = %+v, want int %d", k, v, want)
					}
				}
			},
		},
		{
			name: "odd times and strings",
			log: func(ctx context.Context, l *slog.Logger) {
				l.InfoContext(ctx, "", "", "empty key", "t0", time.Time{}, "big", uint64(math.MaxUint64),
					"bytes", []byte{0, 0xff}, "deep", nestedStringer{10000}, "ctl", "\x00\u2028\n")
				l.Handler().Handle(ctx, slog.NewRecord(time.Time{}, slog.LevelInfo, "zero time", 0)) //nolint:errcheck
				l.Handler().Handle(ctx, slog.NewRecord(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "year 1", 0))
			},
			check: func(t *testing.T, s ddtest.Span) {
				ev := event(t, s, "")
				if v := ev.Attributes["big"]; v.StringValue != "18446744073709551615" {
					t.Errorf("big = %+v, want the decimal string", v)
				}
			},
		},
	}
}

// event returns s's span event named name.
func event(t *testing.T, s ddtest.Span, name string) ddtest.SpanEvent {
	t.Helper()
	for _, ev := range s.SpanEvents {
		if ev.Name == name {
			return ev
		}
	}
	t.Fatalf("no span event %q among %d", name, len(s.SpanEvents))
	return ddtest.SpanEvent{}
}

// stringAttr checks that event name has a string attribute key containing want.
func stringAttr(name, key, want string) func(*testing.T, ddtest.Span) {
	return func(t *testing.T, s ddtest.Span) {
		t.Helper()
		v := event(t, s, name).Attributes[key]
		if v.Type != ddtest.StringType || !strings.Contains(v.StringValue, want) {
			t.Errorf("%s = %+v, want a string containing %q", key, v, want)
		}
	}
}

// TestHostileRecords logs hostile records through the Handler inside
// spans, exported in every wire mode. Nothing panics, the JSON log lines
// stay valid, the strict agent refuses nothing, every span arrives except,
// with native span events, the one carrying a 10 MB value (over the payload
// cap: dropped as TooLarge, counted; as meta JSON its event is cut to the
// Agent's 25,000-byte limit and the span arrives), and each value is
// handled as documented.
func TestHostileRecords(t *testing.T) {
	for _, m := range wireModes {
		t.Run(m.name, func(t *testing.T) {
			noLeaks(t)
			agent := ddtest.New(t, ddtest.WithSpanEvents(m.spanEvents))
			r := newRig(t, rigConfig{url: agent.URL(), exporter: []ddexport.Option{ddexport.WithAPIVersion(m.version)}})
			var out lineChecker
			r.logger = slog.New(ddslog.NewHandler(slog.NewJSONHandler(&out, nil), &ddslog.HandlerOptions{AddSource: true}))

			cases := hostileCases()
			ids := make(map[string]uint64)
			for _, c := range cases {
				ctx, span := r.tracer.Start(context.Background(), c.name)
				c.log(ctx, r.logger)
				span.End()
				ids[c.name] = spanID(span.SpanContext().SpanID())
			}
			// A 10 MB value: as a native span event, over the exporter's
			// 10 MiB payload cap once encoded, so its trace is dropped and
			// counted; as meta JSON, cut to fit the Agent's limit.
			ctx, huge := r.tracer.Start(context.Background(), "10 MB value")
			r.logger.InfoContext(ctx, "huge", "v", strings.Repeat("x", 10<<20))
			huge.End()
			// A span that ends before it starts.
			start := time.Now()
			_, neg := r.tracer.Start(context.Background(), "negative duration", trace.WithTimestamp(start))
			neg.End(trace.WithTimestamp(start.Add(-time.Second)))

			r.mu.Lock()
			for _, id := range ids {
				r.produced[id] = true
			}
			r.produced[spanID(huge.SpanContext().SpanID())] = true
			r.produced[spanID(neg.SpanContext().SpanID())] = true
			r.mu.Unlock()
			r.flush()

			s := r.account(agent)
			var wantDrops ddexport.DropReasons
			if m.spanEvents {
				wantDrops.TooLarge = 1
			}
			wantDropped(t, wantDrops, s)
			noRejections(t, agent)
			if err := out.err(); err != nil {
				t.Errorf("log output: %v", err)
			}
			metaJSON(t, agent)
			if !m.spanEvents {
				return
			}
			byID := make(map[uint64]ddtest.Span)
			for _, sp := range agent.Spans() {
				byID[sp.SpanID] = sp
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					sp, ok := byID[ids[c.name]]
					if !ok {
						t.Fatal("span not received")
					}
					c.check(t, sp)
				})
			}
		})
	}
}

// metaJSON checks that the span events and links sent as meta JSON (v0.5,
// or an Agent without native events) are valid JSON: NaN and infinities
// included, which JSON cannot write as numbers.
func metaJSON(t *testing.T, agent *ddtest.Agent) {
	t.Helper()
	for _, sp := range agent.Spans() {
		for _, k := range []string{"events", "_dd.span_links"} {
			if v, ok := sp.Meta[k]; ok && !json.Valid([]byte(v)) {
				t.Errorf("span %q: meta %s is not valid JSON: %.200s", sp.Resource, k, v)
			}
		}
	}
}

// lineChecker is a writer that checks each line is a JSON object.
type lineChecker struct {
	lines int
	bad   []string
}

func (w *lineChecker) Write(p []byte) (int, error) {
	w.lines++
	if !json.Valid(bytes.TrimSpace(p)) {
		w.bad = append(w.bad, string(p[:min(len(p), 200)]))
	}
	return len(p), nil
}

func (w *lineChecker) err() error {
	if w.lines == 0 {
		return errors.New("no line written")
	}
	if len(w.bad) > 0 {
		return errors.New("invalid JSON line: " + w.bad[0])
	}
	return nil
}

// TestNilContexts: every entry point that may be given a nil context
// (slog allows it) treats it as a context without a span.
func TestNilContexts(t *testing.T) {
	var nilCtx context.Context // as a caller could pass
	var out lineChecker
	h := ddslog.NewHandler(slog.NewJSONHandler(&out, nil), nil)
	if !h.Enabled(nilCtx, slog.LevelInfo) {
		t.Error("Enabled(nil, Info) = false")
	}
	if err := h.Handle(nilCtx, slog.NewRecord(time.Now(), slog.LevelInfo, "direct", 0)); err != nil {
		t.Error(err)
	}
	l := slog.New(h)
	l.Log(nilCtx, slog.LevelError, "via logger", "err", errors.New("x"))
	l.With("a", 1).WithGroup("g").Log(nilCtx, slog.LevelInfo, "grouped", "b", 2)
	ddslog.AddEvent(nilCtx, "event", "k", "v")
	ddslog.RecordError(nilCtx, errors.New("x"))
	ddslog.SetAttributes(nilCtx, "k", "v")
	if tid, sid, ok := ddslog.Correlation(nilCtx); ok || tid != "" || sid != "" {
		t.Errorf("Correlation(nil) = %q, %q, %v", tid, sid, ok)
	}
	if err := out.err(); err != nil {
		t.Error(err)
	}
	if out.lines != 3 {
		t.Errorf("%d lines written, want 3", out.lines)
	}
}

// TestHostileSpans gives the exporter, directly, spans the SDK would not
// make: nil entries, invalid and empty-keyed attributes, 10,000 attributes
// and events (no SDK limits), zero times, a negative duration, links with
// zero IDs, invalid UTF-8 everywhere, NaN and infinities. Nil entries are
// dropped as Invalid; everything else is sent, and the strict agent refuses
// nothing.
func TestHostileSpans(t *testing.T) {
	for _, m := range wireModes {
		t.Run(m.name, func(t *testing.T) {
			noLeaks(t)
			agent := ddtest.New(t, ddtest.WithSpanEvents(m.spanEvents))
			exp, err := ddexport.New(ddexport.WithAgentURL(agent.URL()), ddexport.WithContainerID(""), ddexport.WithAPIVersion(m.version))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })

			stubs := hostileStubs()
			spans := stubs.Snapshots()
			spans = append(spans, nil, nil)
			err = exp.ExportSpans(ctxWait(t), spans)
			if err == nil {
				t.Error("ExportSpans returned no error for nil spans")
			}
			s := exp.Stats()
			wantDropped(t, ddexport.DropReasons{Invalid: 2}, s)
			if s.SpansExported != uint64(len(stubs)) {
				t.Errorf("exported %d spans, want %d", s.SpansExported, len(stubs))
			}
			noRejections(t, agent)
			if got := len(agent.Spans()); got != len(stubs) {
				t.Errorf("the agent kept %d spans, want %d", got, len(stubs))
			}
			metaJSON(t, agent)
		})
	}
}

func hostileStubs() tracetest.SpanStubs {
	now := time.Now()
	tid := trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	sc := func(span byte) trace.SpanContext {
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{0, 0, 0, 0, 0, 0, 0, span}, TraceFlags: trace.FlagsSampled})
	}
	many := make([]attribute.KeyValue, 10000)
	events := make([]sdktrace.Event, 10000)
	for i := range many {
		many[i] = attribute.Int("k"+strconv.Itoa(i), i)
		events[i] = sdktrace.Event{Name: "e" + strconv.Itoa(i), Time: now, Attributes: many[i : i+1]}
	}
	odd := []attribute.KeyValue{
		{Key: "invalid"}, // attribute.INVALID
		attribute.String("", "empty key"),
		attribute.String("utf8\xff", "v\xfe"),
		attribute.Float64("nan", math.NaN()),
		attribute.Float64("inf", math.Inf(1)),
		attribute.Float64Slice("floats", []float64{math.NaN(), math.Inf(-1)}),
		attribute.StringSlice("strs", []string{"\xff", ""}),
		attribute.Int64("min", math.MinInt64),
		attribute.String("http.response.status_code", "not a number"),
		attribute.Int("http.status_code", -1),
	}
	return tracetest.SpanStubs{
		{Name: "many attributes", SpanContext: sc(1), StartTime: now, EndTime: now, Attributes: many},
		{Name: "many events", SpanContext: sc(2), Parent: sc(1), StartTime: now, EndTime: now, Events: events},
		{Name: "zero times", SpanContext: sc(3), Parent: sc(1)},
		{Name: "negative duration", SpanContext: sc(4), Parent: sc(1), StartTime: now, EndTime: now.Add(-time.Hour)},
		{
			Name: "odd values \xff", SpanContext: sc(5), Parent: sc(1), StartTime: now, EndTime: now.Add(time.Millisecond),
			Attributes: odd,
			Events: []sdktrace.Event{
				{Name: "no time", Attributes: odd},
				{Name: "exception", Time: now, Attributes: []attribute.KeyValue{attribute.String("exception.type", "\xff"), attribute.String("exception.message", "")}},
			},
			Links: []sdktrace.Link{
				{SpanContext: trace.SpanContext{}, Attributes: odd},
				{SpanContext: sc(9)},
			},
			Status:   sdktrace.Status{Code: codes.Error, Description: "\xff"},
			SpanKind: trace.SpanKind(42),
		},
	}
}
