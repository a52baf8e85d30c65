package main

import (
	"context"
	"log/slog"

	"github.com/seed03c8c003/ddslog"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddprop"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TEMPORARY until ddotel.Start is implemented.
func startTelemetry(ctx context.Context, agentURL string) (func(context.Context) error, error) {
	exp, err := ddexport.New(ddexport.WithAgentURL(agentURL))
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(resource.NewSchemaless(
		attribute.String("service.name", service), attribute.String("deployment.environment.name", "demo"), attribute.String("service.version", "1.0.0"))))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(ddprop.New())
	ddslog.SetDefault(&ddslog.HandlerOptions{Service: service, Env: "demo", Version: "1.0.0"})
	_ = slog.Default
	return tp.Shutdown, nil
}
