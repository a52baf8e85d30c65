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
