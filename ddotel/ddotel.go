package ddotel

import (
	"context"
	"errors"
	"log/slog"

	"github.com/seed03c8c003/ddslog"
	"github.com/seed03c8c003/ddslog/ddexport"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// API SKELETON — implementation in progress; the signatures are fixed.

// Option configures Start.
type Option interface{ apply(*config) }

type config struct{}

// WithService, WithEnv and WithVersion set the unified service tags; they
// beat DD_SERVICE / DD_ENV / DD_VERSION and OTEL_SERVICE_NAME /
// OTEL_RESOURCE_ATTRIBUTES.
func WithService(service string) Option { panic("TODO") }

// WithEnv sets the environment (deployment.environment.name).
func WithEnv(env string) Option { panic("TODO") }

// WithVersion sets the service version.
func WithVersion(version string) Option { panic("TODO") }

// WithExporterOptions passes options to ddexport.New; they beat the
// environment.
func WithExporterOptions(opts ...ddexport.Option) Option { panic("TODO") }

// WithHandlerOptions configures the slog handler installed over the default
// logger.
func WithHandlerOptions(opts *ddslog.HandlerOptions) Option { panic("TODO") }

// WithoutLogs leaves slog's default logger alone.
func WithoutLogs() Option { panic("TODO") }

// WithSampleRate keeps this fraction of new traces (0 to 1).
func WithSampleRate(rate float64) Option { panic("TODO") }

// WithTracerProviderOptions adds options to the SDK tracer provider.
func WithTracerProviderOptions(opts ...sdktrace.TracerProviderOption) Option { panic("TODO") }

// WithLookupEnv replaces os.LookupEnv, for tests.
func WithLookupEnv(lookup func(string) (string, bool)) Option { panic("TODO") }

// Start reads DD_* and OTEL_* configuration, builds a tracer provider that
// batches spans into a ddexport.Exporter, sets the global tracer provider
// and propagator, and installs the correlating slog handler over the
// default logger. shutdown flushes and stops everything within its ctx.
func Start(ctx context.Context, opts ...Option) (shutdown func(context.Context) error, err error) {
	_ = slog.Default
	return nil, errors.New("TODO")
}
