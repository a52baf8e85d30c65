package ddprop

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromEnv(t *testing.T) {
	all := []Style{StyleDatadog, StyleTraceContext, StyleBaggage}
	const known = "(known: datadog, tracecontext, baggage, b3multi, b3, b3 single header, none)"
	tests := []struct {
		name                 string
		env                  map[string]string
		wantInject, wantExtr []Style
		wantErr              string
		wantReported         []string // through otel.Handle
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
		{name: "b3 names in Datadog's variables: b3 is the multiple headers",
			env:        map[string]string{"DD_TRACE_PROPAGATION_STYLE_INJECT": "b3", "DD_TRACE_PROPAGATION_STYLE_EXTRACT": "B3 Single Header,b3multi"},
			wantInject: []Style{StyleB3Multi}, wantExtr: []Style{StyleB3, StyleB3Multi}},
		{name: "b3 names in OTEL_PROPAGATORS: b3 is the single header",
			env:        map[string]string{"OTEL_PROPAGATORS": "tracecontext,b3,b3multi"},
			wantInject: []Style{StyleTraceContext, StyleB3, StyleB3Multi}, wantExtr: []Style{StyleTraceContext, StyleB3, StyleB3Multi}},
		{name: "b3 and b3multi in Datadog's variables are one style",
			env:        map[string]string{"DD_TRACE_PROPAGATION_STYLE": "b3multi,datadog,b3"},
			wantInject: []Style{StyleB3Multi, StyleDatadog}, wantExtr: []Style{StyleB3Multi, StyleDatadog}},
		{name: "unsupported style: reported, the rest kept",
			env:        map[string]string{"DD_TRACE_PROPAGATION_STYLE": "xray,datadog"},
			wantInject: []Style{StyleDatadog}, wantExtr: []Style{StyleDatadog},
			wantReported: []string{`ddprop: DD_TRACE_PROPAGATION_STYLE="xray,datadog": propagation style "xray" not supported here: ignored`}},
		{name: "only unsupported styles: reported, defaults",
			env:        map[string]string{"OTEL_PROPAGATORS": "jaeger, xray"},
			wantInject: all, wantExtr: all,
			wantReported: []string{`ddprop: OTEL_PROPAGATORS="jaeger, xray": propagation styles "jaeger", "xray" not supported here: ignored`}},
		{name: "two variables with unsupported styles: both reported",
			env: map[string]string{
				"DD_TRACE_PROPAGATION_STYLE_INJECT":  "Jaeger",
				"DD_TRACE_PROPAGATION_STYLE_EXTRACT": "datadog,ottrace,haystack"},
			wantInject: all, wantExtr: []Style{StyleDatadog},
			wantReported: []string{
				`ddprop: DD_TRACE_PROPAGATION_STYLE_INJECT="Jaeger": propagation style "Jaeger" not supported here: ignored`,
				`ddprop: DD_TRACE_PROPAGATION_STYLE_EXTRACT="datadog,ottrace,haystack": propagation styles "ottrace", "haystack" not supported here: ignored`}},
		{name: "unknown style: error, the rest kept",
			env:        map[string]string{"DD_TRACE_PROPAGATION_STYLE": "tracecontex,datadog"},
			wantInject: []Style{StyleDatadog}, wantExtr: []Style{StyleDatadog},
			wantErr: `ddprop: DD_TRACE_PROPAGATION_STYLE="tracecontex,datadog": unknown propagation style "tracecontex" ` + known},
		{name: "the single header's Datadog name is not b3single",
			env:        map[string]string{"OTEL_PROPAGATORS": "b3single"},
			wantInject: all, wantExtr: all,
			wantErr: `ddprop: OTEL_PROPAGATORS="b3single": unknown propagation style "b3single" ` + known},
		{name: "unknown and unsupported: error and report",
			env:        map[string]string{"DD_TRACE_PROPAGATION_STYLE_EXTRACT": "pigeon,xray,smoke", "DD_TRACE_PROPAGATION_STYLE_INJECT": "datadog"},
			wantInject: []Style{StyleDatadog}, wantExtr: all,
			wantErr:      `ddprop: DD_TRACE_PROPAGATION_STYLE_EXTRACT="pigeon,xray,smoke": unknown propagation styles "pigeon", "smoke" ` + known,
			wantReported: []string{`ddprop: DD_TRACE_PROPAGATION_STYLE_EXTRACT="pigeon,xray,smoke": propagation style "xray" not supported here: ignored`}},
		{name: "two malformed variables: both in the error",
			env: map[string]string{
				"DD_TRACE_PROPAGATION_STYLE_INJECT":  "x",
				"DD_TRACE_PROPAGATION_STYLE_EXTRACT": "datadog,y"},
			wantInject: all, wantExtr: []Style{StyleDatadog},
			wantErr: `ddprop: DD_TRACE_PROPAGATION_STYLE_INJECT="x": unknown propagation style "x" ` + known + "\n" +
				`ddprop: DD_TRACE_PROPAGATION_STYLE_EXTRACT="datadog,y": unknown propagation style "y" ` + known},
		{name: "one shared malformed variable: one error, one report",
			env:        map[string]string{"DD_TRACE_PROPAGATION_STYLE": "datadog,x,xray"},
			wantInject: []Style{StyleDatadog}, wantExtr: []Style{StyleDatadog},
			wantErr:      `ddprop: DD_TRACE_PROPAGATION_STYLE="datadog,x,xray": unknown propagation style "x" ` + known,
			wantReported: []string{`ddprop: DD_TRACE_PROPAGATION_STYLE="datadog,x,xray": propagation style "xray" not supported here: ignored`}},
		{name: "extraction settings other tracers honour and ddprop does not are reported",
			env: map[string]string{
				"DD_TRACE_PROPAGATION_EXTRACT_FIRST":    "true",
				"DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT": "ignore",
				"DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH":    "1024"},
			wantInject: all, wantExtr: all,
			wantReported: []string{
				`ddprop: DD_TRACE_PROPAGATION_EXTRACT_FIRST="true" not supported here: ignored (a later tracecontext style still completes the trace context)`,
				`ddprop: DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT="ignore" not supported here: ignored (incoming trace context is continued)`,
				`ddprop: DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH="1024" not supported here: ignored (x-datadog-tags are limited to 512 bytes)`,
			}},
		{name: "their defaults are not reported",
			env: map[string]string{
				"DD_TRACE_PROPAGATION_EXTRACT_FIRST":    "false",
				"DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT": "continue",
				"DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH":    "512"},
			wantInject: all, wantExtr: all},
		{name: "restart is reported", env: map[string]string{"DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT": "restart"},
			wantInject: all, wantExtr: all,
			wantReported: []string{
				`ddprop: DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT="restart" not supported here: ignored (incoming trace context is continued)`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reported := captureOTelErrors(t)
			p, err := FromEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if diff := cmp.Diff(tt.wantReported, reported.messages()); diff != "" {
				t.Errorf("reported through otel.Handle (-want +got):\n%s", diff)
			}
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
