package ddname

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// startCases are spans as a sampler sees them at their start. The
// mapping's own agreement with FromStart is tested in ddexport, over every
// row of its mapping table.
var startCases = []struct {
	name    string
	kind    trace.SpanKind
	attrs   []attribute.KeyValue
	service string
	want    Names
	allocs  int // exact allocations of FromStart
}{
	{
		name: "GET /users/{id}", kind: trace.SpanKindServer, service: "checkout",
		attrs: []attribute.KeyValue{
			attribute.String("http.request.method", "GET"), attribute.String("http.route", "/users/{id}"),
			attribute.String("url.path", "/users/42"), attribute.Int("server.port", 443),
		},
		want:   Names{"checkout", "http.server.request", "GET /users/{id}", "web"},
		allocs: 1, // the resource, built
	},
	{
		name: "SELECT", kind: trace.SpanKindClient, service: "checkout",
		attrs: []attribute.KeyValue{
			attribute.String("db.system.name", "postgresql"), attribute.String("db.query.text", "SELECT 1"),
		},
		want:   Names{"checkout", "postgresql.query", "SELECT 1", "sql"},
		allocs: 1, // the operation name, built
	},
	{
		name: "publish", kind: trace.SpanKindProducer,
		attrs: []attribute.KeyValue{
			attribute.String("messaging.system", "kafka"), attribute.String("messaging.operation", "publish"),
			attribute.String("messaging.destination.name", "orders"), attribute.String("service.name", "mailer"),
		},
		want:   Names{"mailer", "kafka.publish", "publish orders", "custom"},
		allocs: 1, // both built, one string
	},
	{
		name: "render", kind: trace.SpanKindInternal,
		want: Names{DefaultService, "Internal", "render", "custom"},
	},
	{
		name: "work", kind: trace.SpanKindInternal, service: "configured",
		attrs: []attribute.KeyValue{attribute.String("service.name", "unknown_service:app")},
		want:  Names{"configured", "Internal", "work", "custom"},
	},
	{
		name: "overrides", kind: trace.SpanKindServer,
		attrs: []attribute.KeyValue{
			attribute.String("operation.name", "web.request"), attribute.String("resource.name", "GET /home"),
			attribute.String("span.type", "worker"),
		},
		want: Names{DefaultService, "web.request", "GET /home", "worker"},
	},
	{
		name: "unknown DB", kind: trace.SpanKindClient,
		attrs:  []attribute.KeyValue{attribute.String("db.system", "Some DB")},
		want:   Names{DefaultService, "some_db.query", "unknown DB", "db"},
		allocs: 3, // the system normalized (for the name, then the type), and the built name
	},
	{
		name: "long", kind: trace.SpanKindClient,
		attrs: []attribute.KeyValue{
			attribute.String("http.request.method", "POST"), attribute.String("url.template", strings.Repeat("x", 6000)),
		},
		want:   Names{DefaultService, "http.client.request", "POST " + strings.Repeat("x", MaxResourceLen-5), "http"},
		allocs: 2, // the resource, past the stack buffer, then as a string
	},
}

func TestFromStart(t *testing.T) {
	for _, c := range startCases {
		t.Run(c.name, func(t *testing.T) {
			got := FromStart(c.attrs, c.kind, c.name, c.service)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestFromStartAllocs holds FromStart to its budget: no allocation when
// the names are taken whole, one when a name or the resource is built.
func TestFromStartAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, c := range startCases {
		got := testing.AllocsPerRun(100, func() {
			FromStart(c.attrs, c.kind, c.name, c.service)
		})
		if int(got) != c.allocs {
			t.Errorf("%s: %v allocations, want %d", c.name, got, c.allocs)
		}
	}
}

func BenchmarkFromStart(b *testing.B) {
	for _, c := range startCases[:3] {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				FromStart(c.attrs, c.kind, c.name, c.service)
			}
		})
	}
}
