package agentcompat

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func goleakOptions() []goleak.Option { return nil }

// TestOTLPPathMeetsCorpusExpectations checks the hand-written expectations
// of the corpus against the Agent's own OpenTelemetry mapping: the corpus is
// sent with the OpenTelemetry SDK's OTLP exporter to the Agent's OTLP
// receiver. The expectations describe how the Agent itself shows these spans.
func TestOTLPPathMeetsCorpusExpectations(t *testing.T) {
	ra := newRealAgent(t, agentOptions{})
	c := corpus()
	exportOTLP(t, ra, c)
	p := collect(t, ra, len(c))
	checkCorpus(t, c, p, nil)
	for _, cs := range c {
		got := p.spans[sid64(cs.stub.SpanContext.SpanID())]
		if got == nil {
			continue
		}
		if diff := cmp.Diff(eventsJSON(cs.stub.Events, false), metaJSON(got.Meta, "events")); diff != "" {
			t.Errorf("span %q: events (-want +got):\n%s", cs.stub.Name, diff)
		}
		if diff := cmp.Diff(linksJSON(cs.stub.Links, false), metaJSON(got.Meta, "_dd.span_links")); diff != "" {
			t.Errorf("span %q: links (-want +got):\n%s", cs.stub.Name, diff)
		}
	}
}

// metaJSON decodes meta[key], or is nil when the key is absent.
func metaJSON(meta map[string]string, key string) any {
	s, ok := meta[key]
	if !ok {
		return nil
	}
	return decodeJSON(s)
}
