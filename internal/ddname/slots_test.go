package ddname

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
)

// TestLookupSides checks that a lookup answers from the span first, then
// from the resource, for Text, Norm and HasAny, and that an empty text
// falls through to the next side or slot.
func TestLookupSides(t *testing.T) {
	var span, res Slots
	span.Set(AttrHTTPMethod, attribute.StringValue(""))
	span.Set(AttrServiceVersion, attribute.StringValue("V1"))
	res.Set(AttrHTTPMethod, attribute.StringValue("GET"))
	res.Set(AttrDeploymentEnvironment, attribute.StringValue("prod"))
	l := NewLookup(&span, &res)

	type result struct {
		Method, Version, Env, None string
		SpanHTTP, ResEnv, Neither  bool
		AnyHTTP, AnyNeither        bool
	}
	got := result{
		Method:     l.Text(AttrHTTPRequestMethod, AttrHTTPMethod),
		Version:    l.Norm(AttrServiceVersion),
		Env:        l.Norm(AttrDeploymentEnvironmentName, AttrDeploymentEnvironment),
		None:       l.Text(AttrRPCSystem),
		SpanHTTP:   span.HasAny(1<<AttrHTTPRequestMethod | 1<<AttrHTTPMethod),
		ResEnv:     res.HasAny(1 << AttrDeploymentEnvironment),
		Neither:    span.HasAny(1<<AttrRPCSystem | 1<<AttrDDMeasured),
		AnyHTTP:    l.HasAny(1 << AttrHTTPMethod),
		AnyNeither: l.HasAny(1 << AttrRPCSystem),
	}
	want := result{
		Method: "GET", Version: "v1", Env: "prod", None: "",
		SpanHTTP: true, ResEnv: true, Neither: false,
		AnyHTTP: true, AnyNeither: false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lookup (-want +got):\n%s", diff)
	}
}

// TestLookupReadsStrings checks that a lookup, like the Agent's semantic
// lookups of its OTLP path, reads only string values: a number, boolean or
// slice under a looked-up key counts as unset, so the next side or slot
// answers. Value, for the gRPC status code, also reads integers, after
// the strings of the same key.
func TestLookupReadsStrings(t *testing.T) {
	var span, res Slots
	span.Set(AttrServiceName, attribute.IntValue(42))
	res.Set(AttrServiceName, attribute.StringValue("checkout"))
	span.Set(AttrHTTPRequestMethod, attribute.BoolValue(true))
	span.Set(AttrHTTPMethod, attribute.StringValue("GET"))
	span.Set(AttrServiceVersion, attribute.Float64Value(1.5))
	span.Set(AttrDeploymentEnvironmentName, attribute.StringSliceValue([]string{"prod"}))
	span.Set(AttrRPCGRPCStatusCode, attribute.Float64Value(5))
	span.Set(AttrGRPCCode, attribute.BoolValue(true))
	span.Set(AttrRPCGRPCStatusCodeDotted, attribute.IntValue(14))
	res.Set(AttrRPCGRPCStatusCodeDotted, attribute.StringValue("UNAVAILABLE"))
	l := NewLookup(&span, &res)

	type result struct {
		Service, Method, Version, Env, GRPC string
	}
	g, _ := l.Value(AttrRPCGRPCStatusCode, AttrGRPCCode, AttrRPCGRPCStatusCodeDotted)
	got := result{
		Service: l.Service("configured"),
		Method:  l.Text(AttrHTTPRequestMethod, AttrHTTPMethod),
		Version: l.Norm(AttrServiceVersion),
		Env:     l.Norm(AttrDeploymentEnvironmentName),
		GRPC:    Text(g),
	}
	want := result{Service: "checkout", Method: "GET", GRPC: "UNAVAILABLE"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lookup (-want +got):\n%s", diff)
	}
	var none Slots
	none.Set(AttrRPCGRPCStatusCode, attribute.IntValue(14))
	l = NewLookup(&none, nil)
	if g, ok := l.Value(AttrRPCGRPCStatusCode); !ok || g.AsInt64() != 14 {
		t.Errorf("Value of an integer gRPC code = %v, %v; want 14", g.String(), ok)
	}
}
