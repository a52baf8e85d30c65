package bench

import (
	"testing"

	"github.com/DataDog/dd-trace-go/v2/ddtrace/tracer"
)

// The service every pipeline reports.
const (
	service = "checkout"
	env     = "prod"
	version = "1.8.2"
)

// quietLogger discards dd-trace-go's own log messages.
type quietLogger struct{}

func (quietLogger) Log(string) {}

// startDDTrace starts dd-trace-go's global tracer, sending to agent, with
// the environment TestMain sets (see ddTraceEnv) and these options: the
// Agent's address and HTTP client, the service, no AppSec, no startup log,
// a logger that discards, and none of the profiler's pprof labels (code
// hotspots and endpoints, on by default: without a profiler running they
// only cost time).
func startDDTrace(tb testing.TB, agent *memAgent) {
	tb.Helper()
	err := tracer.Start(
		tracer.WithAgentURL(agentURL),
		tracer.WithHTTPClient(agent.client()),
		tracer.WithService(service),
		tracer.WithEnv(env),
		tracer.WithServiceVersion(version),
		tracer.WithAppSecEnabled(false),
		tracer.WithLogStartup(false),
		tracer.WithLogger(quietLogger{}),
		tracer.WithProfilerCodeHotspots(false),
		tracer.WithProfilerEndpoints(false),
	)
	if err != nil {
		tb.Fatalf("dd-trace-go: tracer.Start: %v", err)
	}
}
