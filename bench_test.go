package ddslog

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The benchmark cases log one line with three attributes, like a request log.
// Each case runs over the bare JSON handler and over the Handler wrapping
// it: compare with `benchstat -col /handler`.

var benchAttrs = []slog.Attr{
	slog.String("method", "GET"),
	slog.Int("status", 200),
	slog.Duration("elapsed", 1500*time.Microsecond),
}

// logCase describes how one benchmark case logs.
type logCase struct {
	name  string
	ctx   func(tb testing.TB) context.Context
	build func(l *slog.Logger) *slog.Logger
	level slog.Level
}

func nonRecordingCtx(testing.TB) context.Context { return spanCtx(traceID64, true) }

// recordingCtx returns a context with a recording SDK span.
func recordingCtx(tb testing.TB) context.Context {
	tp := sdktrace.NewTracerProvider()
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("bench").Start(context.Background(), "op")
	tb.Cleanup(func() { span.End() })
	return ctx
}

var logCases = []logCase{
	{"nospan", func(testing.TB) context.Context { return context.Background() }, nil, slog.LevelInfo},
	{"nospan+group", func(testing.TB) context.Context { return context.Background() }, func(l *slog.Logger) *slog.Logger {
		return l.With("service", "api").WithGroup("req").With("id", 7)
	}, slog.LevelInfo},
	{"span", nonRecordingCtx, nil, slog.LevelInfo},
	{"span+group", nonRecordingCtx, func(l *slog.Logger) *slog.Logger {
		return l.With("service", "api").WithGroup("req").With("id", 7)
	}, slog.LevelInfo},
	{"span+event", recordingCtx, nil, slog.LevelInfo},
	{"disabled", nonRecordingCtx, nil, slog.LevelDebug},
}

func benchLoggers(opts *HandlerOptions) map[string]*slog.Logger {
	bare := slog.NewJSONHandler(io.Discard, nil)
	return map[string]*slog.Logger{
		"bare":   slog.New(bare),
		"ddslog": slog.New(NewHandler(bare, opts)),
	}
}

func BenchmarkHandler(b *testing.B) {
	for _, c := range logCases {
		for _, name := range []string{"bare", "ddslog"} {
			b.Run("case="+c.name+"/handler="+name, func(b *testing.B) {
				l := benchLoggers(nil)[name]
				if c.build != nil {
					l = c.build(l)
				}
				ctx := c.ctx(b)
				b.ReportAllocs()
				for b.Loop() {
					l.LogAttrs(ctx, c.level, "request handled", benchAttrs...)
				}
			})
		}
	}
	// The floor: the bare JSON handler writing the same two ID attributes,
	// their strings made in advance. What ddslog costs above this is its
	// own work; the rest is the cost of the output the contract asks for.
	b.Run("case=span/handler=bare+ids", func(b *testing.B) {
		l := benchLoggers(nil)["bare"]
		ctx := nonRecordingCtx(b)
		traceID, spanID, _ := Correlation(ctx)
		attrs := append([]slog.Attr{slog.String(TraceIDKey, traceID), slog.String(SpanIDKey, spanID)}, benchAttrs...)
		b.ReportAllocs()
		for b.Loop() {
			l.LogAttrs(ctx, slog.LevelInfo, "request handled", attrs...)
		}
	})
}

// BenchmarkEvent compares a record becoming a span event (output disabled)
// with the SDK's own AddEvent of the same attributes.
func BenchmarkEvent(b *testing.B) {
	ctx := recordingCtx(b)
	b.Run("impl=sdk", func(b *testing.B) {
		span := trace.SpanFromContext(ctx)
		b.ReportAllocs()
		for b.Loop() {
			sdkAddEvent(span)
		}
	})
	b.Run("impl=ddslog", func(b *testing.B) {
		l := eventOnlyLogger()
		b.ReportAllocs()
		for b.Loop() {
			l.LogAttrs(ctx, slog.LevelInfo, "request handled", benchAttrs...)
		}
	})
}

// sdkAddEvent is what a hand-written span event equivalent to the record
// costs: the same attributes, converted by hand.
func sdkAddEvent(span trace.Span) {
	span.AddEvent("request handled", trace.WithTimestamp(time.Now()), trace.WithAttributes(
		attribute.String("method", "GET"),
		attribute.Int64("status", 200),
		attribute.Int64("elapsed", int64(1500*time.Microsecond)),
		attribute.String(LevelKey, "INFO"),
	))
}

// eventOnlyLogger writes nothing: records only reach spans.
func eventOnlyLogger() *slog.Logger {
	return slog.New(NewHandler(slog.DiscardHandler, nil))
}
