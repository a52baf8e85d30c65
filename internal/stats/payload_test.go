package stats

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// asDecoded is what a decoder of the Agent's schema must read from p.
func asDecoded(p Payload) ddtest.StatsPayload {
	out := ddtest.StatsPayload{
		Hostname: p.Hostname, Env: p.Env, Version: p.Version, Lang: p.Lang, TracerVersion: p.TracerVersion,
		RuntimeID: p.RuntimeID, Sequence: p.Sequence, Service: p.Service, ContainerID: p.ContainerID,
		GitCommitSha: p.GitCommitSha, ImageTag: p.ImageTag, ProcessTags: p.ProcessTags,
	}
	for _, b := range p.Buckets {
		db := ddtest.StatsBucket{Start: b.Start, Duration: b.Duration}
		for _, g := range b.Groups {
			db.Stats = append(db.Stats, ddtest.GroupedStats{
				Service: g.Service, Name: g.Name, Resource: g.Resource, HTTPStatusCode: g.HTTPStatusCode, Type: g.Type,
				Hits: g.Hits, Errors: g.Errors, Duration: g.Duration, OkSummary: g.OkSummary, ErrorSummary: g.ErrorSummary,
				Synthetics: g.Synthetics, TopLevelHits: g.TopLevelHits, SpanKind: g.SpanKind, PeerTags: g.PeerTags,
				IsTraceRoot: g.IsTraceRoot, GRPCStatusCode: g.GRPCStatusCode, HTTPMethod: g.HTTPMethod,
				HTTPEndpoint: g.HTTPEndpoint, ServiceSource: g.ServiceSource, AdditionalMetricTags: g.AdditionalMetricTags,
			})
		}
		out.Stats = append(out.Stats, db)
	}
	return out
}

// TestPayloadDecoded sends the payloads to ddtest's agent, whose decoder
// follows the Agent's (and is checked against it), and compares what it
// reads with what was flushed.
func TestPayloadDecoded(t *testing.T) {
	agent := ddtest.New(t)
	c, clock := testConcentrator(t, Config{Service: "shop", RuntimeID: "6b1c", GitCommitSha: "abc123", ProcessTags: "entrypoint.name:shop", MaxGroups: 8}, t0)
	keys := NewPeerTagKeys([]string{"peer.service", "peer.hostname"})
	spans := []Span{
		base(),
		with(base(), func(s *Span) {
			s.SpanKind, s.TopLevel, s.Measured, s.TraceRoot, s.Error = "client", false, true, false, true
			s.Name, s.Resource, s.Type, s.HTTPStatusCode = "http.client.request", "POST", "http", 502
			s.PeerTagKeys, s.PeerTagValues = keys, []string{"payments", "10.0.0.9:443"}
			s.GRPCStatusCode, s.HTTPMethod, s.HTTPEndpoint, s.ServiceSource, s.Origin = "Unavailable", "POST", "/pay", "opt.x", "synthetics"
		}),
		with(base(), func(s *Span) { s.Version = "2.0" }), // another payload
	}
	for i := range 12 { // more groups than MaxGroups: the collapsed group
		spans = append(spans, with(base(), func(s *Span) { s.Resource = "GET /item/" + string(rune('a'+i)) }))
	}
	for i := range spans {
		c.Add(&spans[i])
	}
	clock.Store(t0.UnixNano() + sec)
	ps := c.Flush(t0.Add(time.Hour), true)
	if len(ps) != 2 {
		t.Fatalf("%d payloads, want 2", len(ps))
	}
	var want []ddtest.StatsPayload
	for _, p := range ps {
		body := p.AppendMsgpack(nil)
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, agent.URL()+"/v0.6/stats", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/msgpack")
		req.Header.Set("Datadog-Meta-Lang", "go")
		req.Header.Set("Datadog-Meta-Tracer-Version", "test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %+v", resp.StatusCode, agent.Rejections())
		}
		want = append(want, asDecoded(p))
	}
	got := agent.Stats()
	for i := range got {
		got[i].Header = nil
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded payloads (-want +got):\n%s", diff)
	}
	// The summaries read back as sketches of the durations (1 s each).
	g := got[0].Stats[0].Stats[0]
	if g.OkSummary.Count() != float64(g.Hits-g.Errors) || math.Abs(g.OkSummary.Quantile(0.5)-1e9)/1e9 > 0.011 {
		t.Errorf("ok summary: %v values, p50 %v", g.OkSummary.Count(), g.OkSummary.Quantile(0.5))
	}
}
