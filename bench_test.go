package ddslog

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/internal/cputime"
)

// BenchmarkHandler logs the same line through several handlers, case by
// case; compare the handlers of each case with
//
//	benchstat -col '/handler@(bare+ids ddslog bare)' out.txt
//
// Handlers:
//
//	bare        slog.NewJSONHandler(io.Discard, nil) alone: the line without IDs
//	bare+ids    the floor: the bare handler writing the very line ddslog
//	            writes, dd.trace_id and dd.span_id given as strings made in
//	            advance (with a group open: the IDs at the root, the group
//	            built by the call, as a user of the bare handler would)
//	ddslog      NewHandler(bare, nil)
//	ddslog+sdk  for the event case: ddslog with events off, plus the SDK's
//	            own span.AddEvent of the same attributes, converted by hand
//	passthrough for the disabled level: a handler that only forwards to the
//	            bare one, the least any wrapping handler costs
//	keysfirst   for the line cases: a handler that puts the floor's two ID
//	            attributes, made in advance, before the record's in a new
//	            record, as ddslog does; it reads no span and formats nothing
//	idslast     for the line cases: a handler that reads the span and
//	            formats the IDs, as ddslog does, but appends them after the
//	            record's attributes instead of rebuilding the record
//
// Cases:
//
//	case=line     a span context in ctx (not recording): the correlated line
//	case=group    the same under With("service", "api").WithGroup("req").With("id", 7)
//	case=event    a recording SDK span: the line also becomes a span event
//	case=nospan   no span in ctx: the record passes through
//	case=disabled DebugContext below the handler's level
//
// Besides the wall time, each case reports cpu-ns/op: the CPU time the
// process used per call, garbage collection included. On a machine shared
// with other work it varies much less than the wall time, which counts the
// time the benchmark waited for a core.
//
// attrs=2 is `InfoContext(ctx, "request handled", "k", 1, "k2", "v")`;
// attrs=6 is a typical request log. call= is the Logger method used, with
// its arguments written as users write them.
func BenchmarkHandler(b *testing.B) {
	for _, c := range handlerCases(b) {
		for _, r := range c.runs {
			b.Run(c.name+"/handler="+r.handler, func(b *testing.B) { benchLoop(b, r.log) })
		}
	}
}

// benchLoop runs f b.N times and reports its allocations and CPU time.
func benchLoop(b *testing.B, f func()) {
	b.ReportAllocs()
	cpu0, ok := cputime.Used()
	for b.Loop() {
		f()
	}
	if cpu1, _ := cputime.Used(); ok {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

const benchMsg = "request handled"

// benchLine is one line, written by each Logger method the way a user
// writes it. Every function logs at Info with the attributes of the line;
// the *IDs variants add dd.trace_id and dd.span_id first, for the floor, and
// the group* variants nest the line's attributes, after "id"=7, in the group
// "req", as a grouped logger does.
type benchLine struct {
	attrs       int
	info        func(l *slog.Logger)
	infoCtx     func(l *slog.Logger, ctx context.Context)
	logAttrs    func(l *slog.Logger, ctx context.Context)
	infoCtxIDs  func(l *slog.Logger, ctx context.Context, ids *benchIDs)
	logAttrsIDs func(l *slog.Logger, ctx context.Context, ids *benchIDs)
	groupCtxIDs func(l *slog.Logger, ctx context.Context, ids *benchIDs)
	groupLAIDs  func(l *slog.Logger, ctx context.Context, ids *benchIDs)
	// sdkEvent is the span event ddslog makes of the line, written by hand
	// with the SDK's AddEvent: the same attributes and level, the same
	// timestamp (made in advance, as a record's is).
	sdkEvent func(span trace.Span)
}

// benchIDs are the correlation values made in advance, as the arguments
// each call form takes.
type benchIDs struct {
	trace, span         any // for the key-value form
	traceAttr, spanAttr slog.Attr
}

func newBenchIDs(ctx context.Context) *benchIDs {
	t, s, _ := Correlation(ctx)
	return &benchIDs{trace: t, span: s, traceAttr: slog.String(TraceIDKey, t), spanAttr: slog.String(SpanIDKey, s)}
}

const elapsed = 1500 * time.Microsecond

var benchLines = []benchLine{
	{
		attrs: 2,
		info:  func(l *slog.Logger) { l.Info(benchMsg, "k", 1, "k2", "v") },
		infoCtx: func(l *slog.Logger, ctx context.Context) {
			l.InfoContext(ctx, benchMsg, "k", 1, "k2", "v")
		},
		logAttrs: func(l *slog.Logger, ctx context.Context) {
			l.LogAttrs(ctx, slog.LevelInfo, benchMsg, slog.Int("k", 1), slog.String("k2", "v"))
		},
		infoCtxIDs: func(l *slog.Logger, ctx context.Context, ids *benchIDs) {
			l.InfoContext(ctx, benchMsg, TraceIDKey, ids.trace, SpanIDKey, ids.span, "k", 1, "k2", "v")
		},
		logAttrsIDs: func(l *slog.Logger, ctx context.Context, ids *benchIDs) {
			l.LogAttrs(ctx, slog.LevelInfo, benchMsg, ids.traceAttr, ids.spanAttr, slog.Int("k", 1), slog.String("k2", "v"))
		},
		groupCtxIDs: func(l *slog.Logger, ctx context.Context, ids *benchIDs) {
			l.InfoContext(ctx, benchMsg, TraceIDKey, ids.trace, SpanIDKey, ids.span,
				slog.GroupAttrs("req", slog.Int("id", 7), slog.Int("k", 1), slog.String("k2", "v")))
		},
		groupLAIDs: func(l *slog.Logger, ctx context.Context, ids *benchIDs) {
			l.LogAttrs(ctx, slog.LevelInfo, benchMsg, ids.traceAttr, ids.spanAttr,
				slog.GroupAttrs("req", slog.Int("id", 7), slog.Int("k", 1), slog.String("k2", "v")))
		},
		sdkEvent: func(span trace.Span) {
			span.AddEvent(benchMsg, trace.WithTimestamp(eventTime), trace.WithAttributes(
				attribute.Int64("k", 1), attribute.String("k2", "v"), attribute.String(LevelKey, "INFO")))
		},
	},
	{
		attrs: 6,
		info: func(l *slog.Logger) {
			l.Info(benchMsg, "method", "GET", "route", "/api/orders/{id}", "status", 200,
				"elapsed", elapsed, "user", "u-8812", "cached", true)
		},
		infoCtx: func(l *slog.Logger, ctx context.Context) {
			l.InfoContext(ctx, benchMsg, "method", "GET", "route", "/api/orders/{id}", "status", 200,
				"elapsed", elapsed, "user", "u-8812", "cached", true)
		},
		logAttrs: func(l *slog.Logger, ctx context.Context) {
			l.LogAttrs(ctx, slog.LevelInfo, benchMsg, slog.String("method", "GET"), slog.String("route", "/api/orders/{id}"),
				slog.Int("status", 200), slog.Duration("elapsed", elapsed), slog.String("user", "u-8812"), slog.Bool("cached", true))
		},
		infoCtxIDs: func(l *slog.Logger, ctx context.Context, ids *benchIDs) {
			l.InfoContext(ctx, benchMsg, TraceIDKey, ids.trace, SpanIDKey, ids.span,
				"method", "GET", "route", "/api/orders/{id}", "status", 200,
				"elapsed", elapsed, "user", "u-8812", "cached", true)
		},
		logAttrsIDs: func(l *slog.Logger, ctx context.Context, ids *benchIDs) {
			l.LogAttrs(ctx, slog.LevelInfo, benchMsg, ids.traceAttr, ids.spanAttr,
				slog.String("method", "GET"), slog.String("route", "/api/orders/{id}"),
				slog.Int("status", 200), slog.Duration("elapsed", elapsed), slog.String("user", "u-8812"), slog.Bool("cached", true))
		},
		groupCtxIDs: func(l *slog.Logger, ctx context.Context, ids *benchIDs) {
			l.InfoContext(ctx, benchMsg, TraceIDKey, ids.trace, SpanIDKey, ids.span,
				slog.GroupAttrs("req", slog.Int("id", 7), slog.String("method", "GET"), slog.String("route", "/api/orders/{id}"),
					slog.Int("status", 200), slog.Duration("elapsed", elapsed), slog.String("user", "u-8812"), slog.Bool("cached", true)))
		},
		groupLAIDs: func(l *slog.Logger, ctx context.Context, ids *benchIDs) {
			l.LogAttrs(ctx, slog.LevelInfo, benchMsg, ids.traceAttr, ids.spanAttr,
				slog.GroupAttrs("req", slog.Int("id", 7), slog.String("method", "GET"), slog.String("route", "/api/orders/{id}"),
					slog.Int("status", 200), slog.Duration("elapsed", elapsed), slog.String("user", "u-8812"), slog.Bool("cached", true)))
		},
		sdkEvent: func(span trace.Span) {
			span.AddEvent(benchMsg, trace.WithTimestamp(eventTime), trace.WithAttributes(
				attribute.String("method", "GET"), attribute.String("route", "/api/orders/{id}"),
				attribute.Int64("status", 200), attribute.Int64("elapsed", int64(elapsed)),
				attribute.String("user", "u-8812"), attribute.Bool("cached", true), attribute.String(LevelKey, "INFO")))
		},
	},
}

// handlerCase is one row of BenchmarkHandler: the same line logged by each
// handler in runs, the first being the one the others are measured against.
type handlerCase struct {
	name string // "case=line/attrs=2/call=InfoContext"
	kind string // the case= part
	runs []handlerRun
}

type handlerRun struct {
	handler string
	log     func()
}

// run returns the log function of handler, or nil.
func (c handlerCase) run(handler string) func() {
	for _, r := range c.runs {
		if r.handler == handler {
			return r.log
		}
	}
	return nil
}

// grouped opens the group of the group cases.
func grouped(l *slog.Logger) *slog.Logger {
	return l.With("service", "api").WithGroup("req").With("id", 7)
}

// handlerCases builds the cases of BenchmarkHandler, each over fresh
// handlers; spans end when tb's test ends.
func handlerCases(tb testing.TB) []handlerCase {
	bare := slog.New(slog.NewJSONHandler(io.Discard, nil))
	dd := slog.New(NewHandler(bare.Handler(), nil))
	lineOnly := slog.New(NewHandler(bare.Handler(), &HandlerOptions{DisableEvents: true}))
	spanned := nonRecordingCtx(tb)
	recording := recordingCtx(tb)
	ids := newBenchIDs(spanned)
	recIDs := newBenchIDs(recording)
	span := trace.SpanFromContext(recording)
	first := slog.New(&keysFirst{bare.Handler(), [2]slog.Attr{ids.traceAttr, ids.spanAttr}})
	last := slog.New(&idsLast{bare.Handler()})

	var cases []handlerCase
	add := func(kind string, attrs int, call string, runs ...handlerRun) {
		name := "case=" + kind + "/attrs=" + strconv.Itoa(attrs) + "/call=" + call
		cases = append(cases, handlerCase{name: name, kind: kind, runs: runs})
	}
	for _, ln := range benchLines {
		add("nospan", ln.attrs, "Info",
			handlerRun{"bare", func() { ln.info(bare) }},
			handlerRun{"ddslog", func() { ln.info(dd) }})
		add("line", ln.attrs, "InfoContext",
			handlerRun{"bare+ids", func() { ln.infoCtxIDs(bare, spanned, ids) }},
			handlerRun{"ddslog", func() { ln.infoCtx(dd, spanned) }},
			handlerRun{"bare", func() { ln.infoCtx(bare, spanned) }},
			handlerRun{"keysfirst", func() { ln.infoCtx(first, spanned) }},
			handlerRun{"idslast", func() { ln.infoCtx(last, spanned) }})
		add("line", ln.attrs, "LogAttrs",
			handlerRun{"bare+ids", func() { ln.logAttrsIDs(bare, spanned, ids) }},
			handlerRun{"ddslog", func() { ln.logAttrs(dd, spanned) }},
			handlerRun{"bare", func() { ln.logAttrs(bare, spanned) }},
			handlerRun{"keysfirst", func() { ln.logAttrs(first, spanned) }},
			handlerRun{"idslast", func() { ln.logAttrs(last, spanned) }})
		bareSvc, gBare, gDD := bare.With("service", "api"), grouped(bare), grouped(dd)
		add("group", ln.attrs, "InfoContext",
			handlerRun{"bare+ids", func() { ln.groupCtxIDs(bareSvc, spanned, ids) }},
			handlerRun{"ddslog", func() { ln.infoCtx(gDD, spanned) }},
			handlerRun{"bare", func() { ln.infoCtx(gBare, spanned) }})
		add("group", ln.attrs, "LogAttrs",
			handlerRun{"bare+ids", func() { ln.groupLAIDs(bareSvc, spanned, ids) }},
			handlerRun{"ddslog", func() { ln.logAttrs(gDD, spanned) }},
			handlerRun{"bare", func() { ln.logAttrs(gBare, spanned) }})
		add("event", ln.attrs, "InfoContext",
			handlerRun{"ddslog+sdk", func() {
				ln.infoCtx(lineOnly, recording)
				ln.sdkEvent(span)
			}},
			handlerRun{"ddslog", func() { ln.infoCtx(dd, recording) }},
			handlerRun{"bare+ids", func() { ln.infoCtxIDs(bare, recording, recIDs) }})
	}
	pass := slog.New(&passThrough{bare.Handler()})
	add("disabled", 2, "DebugContext",
		handlerRun{"bare", func() { bare.DebugContext(recording, benchMsg, "k", 1, "k2", "v") }},
		handlerRun{"ddslog", func() { dd.DebugContext(recording, benchMsg, "k", 1, "k2", "v") }},
		handlerRun{"passthrough", func() { pass.DebugContext(recording, benchMsg, "k", 1, "k2", "v") }})
	return cases
}

// keysFirst puts two attributes made in advance before the record's, in a
// new record, as ddslog puts the keys: the least a handler costs that
// writes the floor's line without the caller's help. It reads no span and
// formats no ID.
type keysFirst struct {
	h    slog.Handler
	keys [2]slog.Attr
}

func (k *keysFirst) Enabled(ctx context.Context, l slog.Level) bool { return k.h.Enabled(ctx, l) }
func (k *keysFirst) Handle(ctx context.Context, r slog.Record) error {
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, k.keys[:]...)
	for a := range r.Attrs {
		attrs = append(attrs, a)
	}
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	nr.AddAttrs(attrs...)
	return k.h.Handle(ctx, nr)
}
func (k *keysFirst) WithAttrs(as []slog.Attr) slog.Handler {
	return &keysFirst{k.h.WithAttrs(as), k.keys}
}
func (k *keysFirst) WithGroup(name string) slog.Handler {
	return &keysFirst{k.h.WithGroup(name), k.keys}
}

// idsLast does the work a correlated line requires — it reads the span
// context from ctx, formats the two IDs into a new string and checks that
// the record does not set them itself — but appends the IDs after the
// record's attributes, as the record allows without a rebuild, instead of
// writing them first. It handles no group, no static key and no span
// event. The floor costs the same with the IDs written last.
type idsLast struct{ h slog.Handler }

func (l *idsLast) Enabled(ctx context.Context, lv slog.Level) bool { return l.h.Enabled(ctx, lv) }
func (l *idsLast) Handle(ctx context.Context, r slog.Record) error {
	span := trace.SpanFromContext(ctx)
	sc := span.SpanContext()
	if span.IsRecording() || !sc.IsValid() {
		return l.h.Handle(ctx, r)
	}
	if !l.h.Enabled(ctx, r.Level) {
		return nil
	}
	var seen keySet
	for a := range r.Attrs {
		seen |= rootKeys(a)
	}
	if seen&(keyTraceID|keySpanID) == 0 {
		traceID, spanID := ddIDs(sc, false)
		r.AddAttrs(slog.String(TraceIDKey, traceID), slog.String(SpanIDKey, spanID))
	}
	return l.h.Handle(ctx, r)
}
func (l *idsLast) WithAttrs(as []slog.Attr) slog.Handler { return &idsLast{l.h.WithAttrs(as)} }
func (l *idsLast) WithGroup(name string) slog.Handler    { return &idsLast{l.h.WithGroup(name)} }

// passThrough only forwards to its handler: what any wrapping handler
// costs at least.
type passThrough struct{ h slog.Handler }

func (p *passThrough) Enabled(ctx context.Context, l slog.Level) bool  { return p.h.Enabled(ctx, l) }
func (p *passThrough) Handle(ctx context.Context, r slog.Record) error { return p.h.Handle(ctx, r) }
func (p *passThrough) WithAttrs(as []slog.Attr) slog.Handler {
	return &passThrough{p.h.WithAttrs(as)}
}
func (p *passThrough) WithGroup(name string) slog.Handler { return &passThrough{p.h.WithGroup(name)} }

func nonRecordingCtx(testing.TB) context.Context { return spanCtx(traceID64, true) }

// recordingCtx returns a context with a recording SDK span.
func recordingCtx(tb testing.TB) context.Context {
	tp := sdktrace.NewTracerProvider()
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("bench").Start(context.Background(), "op")
	tb.Cleanup(func() { span.End() })
	return ctx
}

// eventTime is the timestamp of the hand-written span events.
var eventTime = time.Now()

// BenchmarkEvent compares a record that only becomes a span event (the
// wrapped handler discards everything) with the SDK's own AddEvent of the
// same attributes.
func BenchmarkEvent(b *testing.B) {
	ctx := recordingCtx(b)
	for _, ln := range benchLines {
		span := trace.SpanFromContext(ctx)
		l := eventOnlyLogger()
		b.Run("attrs="+strconv.Itoa(ln.attrs)+"/impl=sdk", func(b *testing.B) {
			benchLoop(b, func() { ln.sdkEvent(span) })
		})
		b.Run("attrs="+strconv.Itoa(ln.attrs)+"/impl=ddslog", func(b *testing.B) {
			benchLoop(b, func() { ln.infoCtx(l, ctx) })
		})
	}
}

// BenchmarkHandle calls Handle alone, with a record made in advance, over
// a handler that does nothing: ddslog's own work per record, without the
// JSON handler's and slog.Logger's, against keysfirst's (the rebuild of
// the record alone). Profile it to see where ddslog's time goes:
//
//	go test -run '^$' -bench 'Handle$/attrs=2/handler=ddslog' -cpuprofile cpu.out .
//	go tool pprof -top cpu.out
func BenchmarkHandle(b *testing.B) {
	ctx := nonRecordingCtx(b)
	ids := newBenchIDs(ctx)
	for _, n := range []int{2, 6} {
		r := slog.NewRecord(time.Now(), slog.LevelInfo, benchMsg, 0)
		for i := range n {
			r.AddAttrs(slog.Int("k"+strconv.Itoa(i), i))
		}
		for _, h := range []struct {
			name string
			h    slog.Handler
		}{
			{"ddslog", NewHandler(nopHandler{}, nil)},
			{"keysfirst", &keysFirst{nopHandler{}, [2]slog.Attr{ids.traceAttr, ids.spanAttr}}},
		} {
			b.Run("attrs="+strconv.Itoa(n)+"/handler="+h.name, func(b *testing.B) {
				benchLoop(b, func() { _ = h.h.Handle(ctx, r) })
			})
		}
	}
}

// nopHandler does nothing.
type nopHandler struct{}

func (nopHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (nopHandler) Handle(context.Context, slog.Record) error { return nil }
func (h nopHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nopHandler) WithGroup(string) slog.Handler           { return h }

// eventOnlyLogger writes nothing: records only reach spans.
func eventOnlyLogger() *slog.Logger {
	return slog.New(NewHandler(slog.DiscardHandler, nil))
}
