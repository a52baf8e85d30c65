package bench

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// ddTraceEnv turns off the features of dd-trace-go's tracer that would
// reach the network or print: instrumentation telemetry, remote
// configuration, runtime metrics, internal health metrics (a DogStatsD
// client, which would open a socket), AppSec, data streams and the startup
// log. Everything else stays at its default, as a new user runs it: the
// profiler's pprof labels on every span (code hotspots and endpoints, on by
// default; startDDTrace's nolabels variant turns them off), sampling (with
// no rates from the Agent every trace is kept) and client-side stats
// (since the in-memory Agent does not list /v0.6/stats, stats are left to
// the Agent and every trace is sent, as ddslog's pipeline does).
//
// They are set for the whole test binary because dd-trace-go reads some of
// them once per process.
var ddTraceEnv = map[string]string{
	"DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
	"DD_REMOTE_CONFIGURATION_ENABLED":      "false",
	"DD_RUNTIME_METRICS_ENABLED":           "false",
	"DD_RUNTIME_METRICS_V2_ENABLED":        "false",
	"DD_TRACE_INTERNAL_METRICS_ENABLED":    "false",
	"DD_APPSEC_ENABLED":                    "false",
	"DD_TRACE_STARTUP_LOGS":                "false",
	"DD_DATA_STREAMS_ENABLED":              "false",
}

// TestMain sets dd-trace-go's environment and checks that every tracer,
// processor and exporter started by a test or benchmark stopped all of its
// goroutines.
func TestMain(m *testing.M) {
	for k, v := range ddTraceEnv {
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
	}
	goleak.VerifyTestMain(m)
}
