package ddprop

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromEnv(t *testing.T) {
	all := []Style{StyleDatadog, StyleTraceContext, StyleBaggage}
	tests := []struct {
		name                 string
		env                  map[string]string
		wantInject, wantExtr []Style
		wantErr              string
	}{
		{name: "unset: defaults", env: map[string]string{}, wantInject: all, wantExtr: all},
		{name: "empty values count as unset", env: map[string]string{
			"DD_TRACE_PROPAGATION_STYLE": "", "DD_TRACE_PROPAGATION_STYLE_INJECT": " ", "OTEL_PROPAGATORS": ""},
			wantInject: all, wantExtr: all},
		{name: "DD_TRACE_PROPAGATION_STYLE for both", env: map[string]string{"DD_TRACE_PROPAGATION_STYLE": "tracecontext,datadog"},
			wantInject: []Style{StyleTraceContext, StyleDatadog}, wantExtr: []Style{StyleTraceContext, StyleDatadog}},
		{name: "case and spaces", env: map[string]string{"DD_TRACE_PROPAGATION_STYLE": " TraceContext , DATADOG,,baggage "},
			wantInject: []Style{StyleTraceContext, StyleDatadog, StyleBaggage}, wantExtr: []Style{StyleTraceContext, StyleDatadog, StyleBaggage}},
		{name: "duplicates", env: map[string]string{"DD_TRACE_PROPAGATION_STYLE": "datadog,datadog,tracecontext,datadog"},
			wantInject: []Style{StyleDatadog, StyleTraceContext}, wantExtr: []Style{StyleDatadog, StyleTraceContext}},
		{name: "specific variables beat the general one", env: map[string]string{
			"DD_TRACE_PROPAGATION_STYLE":         "baggage",
			"DD_TRACE_PROPAGATION_STYLE_INJECT":  "datadog",
			"DD_TRACE_PROPAGATION_STYLE_EXTRACT": "tracecontext",
			"OTEL_PROPAGATORS":                   "baggage"},
			wantInject: []Style{StyleDatadog}, wantExtr: []Style{StyleTraceContext}},
		{name: "inject only: extract from the general one", env: map[string]string{
			"DD_TRACE_PROPAGATION_STYLE_INJECT": "datadog", "DD_TRACE_PROPAGATION_STYLE": "tracecontext"},
			wantInject: []Style{StyleDatadog}, wantExtr: []Style{StyleTraceContext}},
		{name: "extract only: inject defaults", env: map[string]string{"DD_TRACE_PROPAGATION_STYLE_EXTRACT": "tracecontext"},
			wantInject: all, wantExtr: []Style{StyleTraceContext}},
		{name: "DD beats OTEL_PROPAGATORS", env: map[string]string{"DD_TRACE_PROPAGATION_STYLE": "datadog", "OTEL_PROPAGATORS": "tracecontext"},
			wantInject: []Style{StyleDatadog}, wantExtr: []Style{StyleDatadog}},
		{name: "OTEL_PROPAGATORS as the fallback", env: map[string]string{"OTEL_PROPAGATORS": "tracecontext,baggage"},
			wantInject: []Style{StyleTraceContext, StyleBaggage}, wantExtr: []Style{StyleTraceContext, StyleBaggage}},
		{name: "OTEL_PROPAGATORS none", env: map[string]string{"OTEL_PROPAGATORS": "none"},
			wantInject: []Style{}, wantExtr: []Style{}},
		{name: "none", env: map[string]string{"DD_TRACE_PROPAGATION_STYLE": "None"}, wantInject: []Style{}, wantExtr: []Style{}},
		{name: "none for extraction only", env: map[string]string{"DD_TRACE_PROPAGATION_STYLE_EXTRACT": "none"},
			wantInject: all, wantExtr: []Style{}},
		{name: "none within a list is ignored", env: map[string]string{"DD_TRACE_PROPAGATION_STYLE": "none,datadog"},
			wantInject: []Style{StyleDatadog}, wantExtr: []Style{StyleDatadog}},
		{name: "unsupported style: error, the rest kept",
			env:        map[string]string{"DD_TRACE_PROPAGATION_STYLE": "b3multi,datadog"},
			wantInject: []Style{StyleDatadog}, wantExtr: []Style{StyleDatadog},
			wantErr: `ddprop: DD_TRACE_PROPAGATION_STYLE="b3multi,datadog": unsupported propagation style "b3multi" (supported: datadog, tracecontext, baggage, none)`},
		{name: "only unsupported styles: error, defaults",
			env:        map[string]string{"OTEL_PROPAGATORS": "b3, xray"},
			wantInject: all, wantExtr: all,
			wantErr: `ddprop: OTEL_PROPAGATORS="b3, xray": unsupported propagation style "b3", "xray" (supported: datadog, tracecontext, baggage, none)`},
		{name: "two bad variables: both reported",
			env: map[string]string{
				"DD_TRACE_PROPAGATION_STYLE_INJECT":  "jaeger",
				"DD_TRACE_PROPAGATION_STYLE_EXTRACT": "datadog,ottrace"},
			wantInject: all, wantExtr: []Style{StyleDatadog},
			wantErr: `ddprop: DD_TRACE_PROPAGATION_STYLE_INJECT="jaeger": unsupported propagation style "jaeger" (supported: datadog, tracecontext, baggage, none)` + "\n" +
				`ddprop: DD_TRACE_PROPAGATION_STYLE_EXTRACT="datadog,ottrace": unsupported propagation style "ottrace" (supported: datadog, tracecontext, baggage, none)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := FromEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("error = %q, want %q", gotErr, tt.wantErr)
			}
			if p == nil {
				t.Fatal("FromEnv returned a nil Propagator")
			}
			if diff := cmp.Diff(tt.wantInject, p.InjectStyles()); diff != "" {
				t.Errorf("inject styles (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantExtr, p.ExtractStyles()); diff != "" {
				t.Errorf("extract styles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromEnvNilLookupReadsTheEnvironment(t *testing.T) {
	t.Setenv("DD_TRACE_PROPAGATION_STYLE", "tracecontext")
	t.Setenv("DD_TRACE_PROPAGATION_STYLE_INJECT", "")
	t.Setenv("DD_TRACE_PROPAGATION_STYLE_EXTRACT", "")
	p, err := FromEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Style{StyleTraceContext}, p.ExtractStyles()); diff != "" {
		t.Errorf("extract styles (-want +got):\n%s", diff)
	}
}
