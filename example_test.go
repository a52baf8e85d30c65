package ddslog_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/seed03c8c003/ddslog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// exampleCtx returns a context with a fixed, sampled span context.
func exampleCtx() context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	return trace.ContextWithSpanContext(context.Background(), sc)
}

// noTime drops the time, so that the output is stable.
func noTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func ExampleNewHandler() {
	json := slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime})
	logger := slog.New(ddslog.NewHandler(json, &ddslog.HandlerOptions{Service: "checkout"}))

	ctx := exampleCtx()
	logger.InfoContext(ctx, "charged card", "amount", 42)
	logger.WithGroup("req").InfoContext(ctx, "grouped", "id", 7)
	logger.Info("no span, no IDs")
	// Output:
	// {"level":"INFO","msg":"charged card","dd.service":"checkout","dd.trace_id":"11803532876627986230","dd.span_id":"67667974448284343","amount":42}
	// {"level":"INFO","msg":"grouped","dd.service":"checkout","dd.trace_id":"11803532876627986230","dd.span_id":"67667974448284343","req":{"id":7}}
	// {"level":"INFO","msg":"no span, no IDs"}
}

func ExampleNewHandler_traceID128() {
	json := slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime})
	logger := slog.New(ddslog.NewHandler(json, &ddslog.HandlerOptions{TraceID128: new(true), OTelKeys: true}))
	logger.InfoContext(exampleCtx(), "hello")
	// Output:
	// {"level":"INFO","msg":"hello","dd.trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","dd.span_id":"67667974448284343","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","trace_flags":"01"}
}

func ExampleSetDefault() {
	// A program that configured its own default logger...
	json := slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime})
	slog.SetDefault(slog.New(json))

	// ...makes it correlate with one call.
	ddslog.SetDefault(nil)
	slog.InfoContext(exampleCtx(), "correlated")
	// Output:
	// {"level":"INFO","msg":"correlated","dd.trace_id":"11803532876627986230","dd.span_id":"67667974448284343"}
}

func ExampleCorrelation() {
	traceID, spanID, ok := ddslog.Correlation(exampleCtx())
	fmt.Println(traceID, spanID, ok)
	// Output:
	// 11803532876627986230 67667974448284343 true
}

func ExampleHandler_Correlation() {
	// Other loggers of the program write the same dd.trace_id as the
	// Handler, 128-bit form included.
	h := ddslog.NewHandler(slog.DiscardHandler, &ddslog.HandlerOptions{TraceID128: new(true)})
	traceID, spanID, ok := h.Correlation(exampleCtx())
	fmt.Println(traceID, spanID, ok)
	// Output:
	// 4bf92f3577b34da6a3ce929d0e0e4736 67667974448284343 true
}

func ExampleAddEvent() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, span := tp.Tracer("example").Start(context.Background(), "lookup")

	ddslog.AddEvent(ctx, "cache miss", "key", "user:42", slog.Int("size", 3))
	span.End()

	for _, e := range rec.Ended()[0].Events() {
		fmt.Println(e.Name)
		for _, kv := range e.Attributes {
			fmt.Printf("  %s=%s (%s)\n", kv.Key, kv.Value.String(), kv.Value.Type())
		}
	}
	// Output:
	// cache miss
	//   key=user:42 (STRING)
	//   size=3 (INT64)
}

func ExampleRecordError() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, span := tp.Tracer("example").Start(context.Background(), "charge")

	ddslog.RecordError(ctx, errors.New("card declined"), "attempt", 2)
	span.End()

	s := rec.Ended()[0]
	fmt.Println(s.Status().Code, s.Status().Description)
	for _, e := range s.Events() {
		fmt.Println(e.Name)
		for _, kv := range e.Attributes {
			if kv.Key == "exception.stacktrace" {
				continue
			}
			fmt.Printf("  %s=%s\n", kv.Key, kv.Value.String())
		}
	}
	// Output:
	// Error card declined
	// exception
	//   exception.type=*errors.errorString
	//   exception.message=card declined
	//   attempt=2
}
