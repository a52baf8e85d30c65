package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/seed03c8c003/ddslog"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"github.com/seed03c8c003/ddslog/ddotel"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutlog"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
)

// service is the service name of the spans and of the OTLP log records.
const service = "otlplogs"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	fmt.Println("JSON logs (slog → ddslog → JSON handler):")
	var otlp bytes.Buffer
	spans, err := run(ctx, os.Stdout, &otlp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlplogs:", err)
		os.Exit(1)
	}
	fmt.Println("\nOTLP log records (slog → otelslog → OpenTelemetry log SDK → stdout exporter):")
	_, _ = otlp.WriteTo(os.Stdout)
	fmt.Println("\nSpans received by the embedded agent, with their events:")
	for _, s := range spans {
		fmt.Printf("  trace %d (OTLP TraceID %s)  %-20s %-18s events: %s\n",
			s.TraceID, s.Meta["otel.trace_id"], s.Name, s.Resource, strings.Join(eventNames(s), ", "))
	}
}

// run logs through one slog logger that fans out to two handlers: ddslog's
// correlating handler over JSON on jsonOut, and the otelslog bridge to an
// OpenTelemetry log provider whose stdout exporter writes to otlpOut. Spans go
// to an embedded test agent; run returns what it received.
func run(ctx context.Context, jsonOut, otlpOut io.Writer) (spans []ddtest.Span, err error) {
	agent, err := ddtest.Start()
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, agent.Close()) }()

	// Tracing to the agent. WithoutLogs: the logger is composed below
	// rather than installed over the default one.
	shutdownTracing, err := ddotel.Start(ctx, ddotel.WithService(service), ddotel.WithoutLogs(),
		ddotel.WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	if err != nil {
		return nil, err
	}

	// OTLP logs. A real program would use an OTLP exporter instead of stdout.
	exp, err := stdoutlog.New(stdoutlog.WithWriter(otlpOut), stdoutlog.WithoutTimestamps())
	if err != nil {
		return nil, errors.Join(err, shutdownTracing(context.WithoutCancel(ctx)))
	}
	logs := sdklog.NewLoggerProvider(
		sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", service))),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)),
	)

	// The fan-out. Only the JSON branch is wrapped in ddslog: it writes
	// dd.trace_id and dd.span_id, which Datadog reads from JSON logs, and
	// records each line on its span, once. The OTLP branch needs neither: the
	// log SDK takes the trace and span IDs from the context into the record's
	// own fields. Wrapping the MultiHandler in ddslog instead would put the
	// dd.* keys into the OTLP records too.
	prev := slog.Default()
	defer slog.SetDefault(prev)
	slog.SetDefault(slog.New(slog.NewMultiHandler(
		ddslog.NewHandler(slog.NewJSONHandler(jsonOut, nil), &ddslog.HandlerOptions{Service: service}),
		otelslog.NewHandler("github.com/seed03c8c003/ddslog/examples/otlplogs", otelslog.WithLoggerProvider(logs)),
	)))

	workload(ctx)

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := errors.Join(logs.Shutdown(sctx), shutdownTracing(sctx)); err != nil {
		return nil, err
	}
	return agent.Spans(), nil
}

// workload handles one request that fails, and logs outside of any span.
func workload(ctx context.Context) {
	tracer := otel.Tracer("github.com/seed03c8c003/ddslog/examples/otlplogs")
	ctx2, span := tracer.Start(ctx, "GET /greet/{name}", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", "GET"),
			attribute.String("http.route", "/greet/{name}"),
			attribute.String("url.path", "/greet/ada"),
		))
	slog.InfoContext(ctx2, "greeting", "user", "ada")
	lookup(ctx2, tracer)
	slog.ErrorContext(ctx2, "greeting failed", "err", errors.New("template greet.html not found"))
	span.SetAttributes(attribute.Int("http.response.status_code", 500))
	span.End()

	slog.InfoContext(ctx, "request done", "requests", 1) // no span: no IDs, no event
}

func lookup(ctx context.Context, tracer trace.Tracer) {
	ctx, span := tracer.Start(ctx, "lookup user")
	defer span.End()
	slog.WarnContext(ctx, "cache miss", "cache.key", "user:ada")
}
