package ddexport

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// TestFakeAgentAgrees posts the encoder's payloads to the ddtest fake agent
// and checks that its decoder, written separately, reads what the strict
// decoder of these tests reads.
func TestFakeAgentAgrees(t *testing.T) {
	spans := append(realisticSpans(9), eventsAndLinks().Snapshot())
	for _, c := range mappingCases() {
		s := fxStub()
		c.stub(&s)
		spans = append(spans, s.Snapshot())
	}
	agent := ddtest.New(t)
	for _, c := range []struct {
		name   string
		v      APIVersion
		native bool
		path   string
	}{
		{"v0.4", V04, false, "/v0.4/traces"},
		{"v0.4 native", V04, true, "/v0.4/traces"},
		{"v0.5", V05, false, "/v0.5/traces"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEncoder(c.v, &mapConfig{})
			body := e.encode(e.chunks(spans), c.native)
			var ours [][]wireSpan
			var err error
			if c.v == V05 {
				ours, err = decodeV05(body)
			} else {
				ours, err = decodeV04(body)
			}
			if err != nil {
				t.Fatal(err)
			}
			agent.Reset()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, agent.URL()+c.path, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/msgpack")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("agent answered %d: %v", resp.StatusCode, agent.Rejections())
			}
			payloads := agent.Payloads()
			if len(payloads) != 1 {
				t.Fatalf("%d payloads", len(payloads))
			}
			// Like the Agent, the fake agent repairs invalid UTF-8.
			repair := cmp.Transformer("repairUTF8", func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") })
			if diff := cmp.Diff(ours, fromAgent(payloads[0].Chunks), cmpopts.EquateEmpty(), repair,
				cmp.Comparer(func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) })); diff != "" {
				t.Errorf("the fake agent reads the payload differently (-strict decoder +agent):\n%s", diff)
			}
		})
	}
}

func fromAgent(chunks [][]ddtest.Span) [][]wireSpan {
	var out [][]wireSpan
	for _, c := range chunks {
		var ws []wireSpan
		for _, s := range c {
			w := wireSpan{
				Service: s.Service, Name: s.Name, Resource: s.Resource, Type: s.Type,
				TraceID: s.TraceID, SpanID: s.SpanID, ParentID: s.ParentID,
				Start: s.Start, Duration: s.Duration, Error: s.Error,
				Meta: s.Meta, Metrics: s.Metrics,
			}
			for _, l := range s.SpanLinks {
				w.SpanLinks = append(w.SpanLinks, wireLink{
					TraceID: l.TraceID, TraceIDHigh: l.TraceIDHigh, SpanID: l.SpanID,
					Attributes: l.Attributes, Tracestate: l.Tracestate, Flags: l.Flags,
				})
			}
			for _, ev := range s.SpanEvents {
				we := wireEvent{TimeUnixNano: ev.TimeUnixNano, Name: ev.Name}
				for k, v := range ev.Attributes {
					if we.Attributes == nil {
						we.Attributes = map[string]wireValue{}
					}
					we.Attributes[k] = fromAgentValue(v)
				}
				w.SpanEvents = append(w.SpanEvents, we)
			}
			ws = append(ws, w)
		}
		out = append(out, ws)
	}
	return out
}

func fromAgentValue(v ddtest.AttributeValue) wireValue {
	w := wireValue{Type: int(v.Type), String: v.StringValue, Bool: v.BoolValue, Int: v.IntValue, Double: v.DoubleValue}
	for _, x := range v.ArrayValue {
		w.Array = append(w.Array, fromAgentValue(x))
	}
	return w
}
