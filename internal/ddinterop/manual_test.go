package ddinterop_test

import (
	"context"
	"os"
	"testing"

	"github.com/DataDog/dd-trace-go/v2/ddtrace/x/agenttest"
	"github.com/DataDog/dd-trace-go/v2/ddtrace/x/tracertest"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"github.com/seed03c8c003/ddslog/ddsample"
)

// manualLate is a trace whose decision is changed by hand after its spans
// started: a manual.keep or manual.drop tag (an attribute for
// OpenTelemetry) set to value on the root or on its child.
type manualLate struct {
	name    string
	rate    string // DD_TRACE_SAMPLE_RATE: the decision at the start
	key     string
	value   bool
	onChild bool
}

// TestManualTagsAfterStartAgainstDDTraceGo: dd-trace-go's manual.keep and
// manual.drop tags decide a trace whenever they are set, not only at its
// start. The same attributes set after the start decide the chunk root
// ddexport sends: the same priority and decision maker as dd-trace-go's.
func TestManualTagsAfterStartAgainstDDTraceGo(t *testing.T) {
	cases := []manualLate{
		{"dropped, then kept on the root", "0", "manual.keep", true, false},
		{"dropped, then kept on a child", "0", "manual.keep", true, true},
		{"kept, then dropped on the root", "1", "manual.drop", true, false},
		{"kept, then dropped on a child", "1", "manual.drop", true, true},
		{"dropped, manual.keep false", "0", "manual.keep", false, false},
		{"kept, manual.drop false", "1", "manual.drop", false, true},
	}
	for k, v := range map[string]string{
		"DD_TRACE_SAMPLING_RULES":              "",
		"DD_TRACE_SAMPLING_RULES_FILE":         "",
		"DD_TRACE_RATE_LIMIT":                  "1e9",
		"DD_SPAN_SAMPLING_RULES":               "",
		"DD_SERVICE":                           "svc",
		"DD_ENV":                               "",
		"DD_VERSION":                           "",
		"DD_TAGS":                              "",
		"DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
		"DD_REMOTE_CONFIGURATION_ENABLED":      "false",
		"DD_TRACE_STARTUP_LOGS":                "false",
		"DD_RUNTIME_METRICS_ENABLED":           "false",
		"DD_TRACE_STATS_COMPUTATION_ENABLED":   "false",
	} {
		t.Setenv(k, v)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("DD_TRACE_SAMPLE_RATE", c.rate)
			theirs := manualLateDDTraceGo(t, c)
			ours := manualLateDDExport(t, c)
			if diff := cmp.Diff(theirs, ours); diff != "" {
				t.Errorf("chunk root: dd-trace-go (-) and ddexport (+) differ:\n%s", diff)
			}
		})
	}
}

func manualLateDDTraceGo(t *testing.T, c manualLate) decided {
	t.Helper()
	tr, agent, err := tracertest.Bootstrap(t)
	if err != nil {
		t.Fatal(err)
	}
	root := tr.StartSpan("root")
	child := root.StartChild("child")
	if c.onChild {
		child.SetTag(c.key, c.value)
	} else {
		root.SetTag(c.key, c.value)
	}
	child.Finish()
	root.Finish()
	tr.Flush()
	for _, s := range agent.(agenttest.SpanLister).Spans() {
		if s.Operation == "root" {
			return decided{Priority: int(s.Metrics["_sampling_priority_v1"]), DM: s.Meta["_dd.p.dm"]}
		}
	}
	t.Fatal("dd-trace-go sent no root span")
	return decided{}
}

func manualLateDDExport(t *testing.T, c manualLate) decided {
	t.Helper()
	s, err := ddsample.FromEnv(os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s), sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("ddinterop")
	ctx, root := tr.Start(context.Background(), "root")
	_, child := tr.Start(ctx, "child")
	if c.onChild {
		child.SetAttributes(attribute.Bool(c.key, c.value))
	} else {
		root.SetAttributes(attribute.Bool(c.key, c.value))
	}
	child.End()
	root.End()

	agent := ddtest.New(t)
	exp, err := ddexport.New(ddexport.WithAgentURL(agent.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	if err := exp.ExportSpans(context.Background(), rec.Ended()); err != nil {
		t.Fatal(err)
	}
	for _, sp := range agent.Spans() {
		if sp.ParentID == 0 {
			return decided{Priority: int(sp.Metrics["_sampling_priority_v1"]), DM: sp.Meta["_dd.p.dm"]}
		}
	}
	t.Fatal("ddexport sent no root span")
	return decided{}
}
