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
// Agent's address and HTTP client, the service, no AppSec, no startup log
// and a logger that discards. Everything else is dd-trace-go's default,
// including the pprof labels it sets on every span for its profiler (code
// hotspots and endpoints: a goroutine label set when a span starts and
// restored when it finishes, whether a profiler runs or not), unless
// nolabels is set.
func startDDTrace(tb testing.TB, agent *memAgent, nolabels bool) {
	tb.Helper()
	opts := []tracer.StartOption{
		tracer.WithAgentURL(agentURL),
		tracer.WithHTTPClient(agent.client()),
		tracer.WithService(service),
		tracer.WithEnv(env),
		tracer.WithServiceVersion(version),
		tracer.WithAppSecEnabled(false),
		tracer.WithLogStartup(false),
		tracer.WithLogger(quietLogger{}),
	}
	if nolabels {
		opts = append(opts, tracer.WithProfilerCodeHotspots(false), tracer.WithProfilerEndpoints(false))
	}
	if err := tracer.Start(opts...); err != nil {
		tb.Fatalf("dd-trace-go: tracer.Start: %v", err)
	}
}
