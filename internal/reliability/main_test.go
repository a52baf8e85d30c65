package reliability

import (
	"testing"

	"go.opentelemetry.io/otel"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The SDK's batch processor reports every failed export to the global
	// error handler, which logs; the faults here are on purpose, and the
	// tests read the exporter's Stats instead.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	goleak.VerifyTestMain(m)
}
