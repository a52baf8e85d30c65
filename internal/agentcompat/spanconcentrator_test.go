package agentcompat

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/DataDog/datadog-agent/pkg/obfuscate"
	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	agentstats "github.com/DataDog/datadog-agent/pkg/trace/stats"
	"github.com/DataDog/datadog-agent/pkg/trace/traceutil/normalize"
	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/internal/stats"
)

// Our concentrator against the Agent's SpanConcentrator (pkg/trace/stats,
// the code dd-trace-go computes client stats with), on the same generated
// spans, in one process: every group of every bucket must be identical,
// summaries byte for byte. Where TestClientStatsMatchAgent proves the whole
// path on a corpus, this covers the rules on many odd inputs: kinds in any
// case, gRPC codes in every spelling, peer tag values full of addresses,
// status codes, origins, late and future spans.

// grpcSpellings are raw gRPC status codes as tracers and users write them.
func grpcSpellings(rng *rand.Rand) []string {
	out := []string{"", "0", "5", "05", "16", "99", "4294967295", "4294967296", "-1", "+5", " 5", "5.0",
		"StatusCode.5", "StatusCode.NOT_FOUND", "statuscode.NotFound", "\u0131nternal", "UNAUTHENTICATED", "bogus"}
	names := []string{"OK", "CANCELLED", "CANCELED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
		"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
		"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}
	for _, n := range names {
		for range 3 {
			b := []byte(n)
			for i := range b {
				if rng.IntN(2) == 0 && b[i] >= 'A' && b[i] <= 'Z' {
					b[i] += 'a' - 'A'
				}
			}
			s := string(b)
			if rng.IntN(2) == 0 {
				s = strings.ReplaceAll(s, "_", "")
			}
			if rng.IntN(4) == 0 {
				s = "StatusCode." + s
			}
			out = append(out, s)
		}
	}
	return out
}

// peerValue returns a random host-like value: IPv4 with any separator,
// IPv6, ports, schemes, "ip-" names, lists.
func peerValue(rng *rand.Rand) string {
	pieces := []func() string{
		func() string { return strconv.Itoa(rng.IntN(300)) },
		func() string { return "0" + strconv.Itoa(rng.IntN(10)) },
		func() string { return []string{".", "_", "-", ":", ","}[rng.IntN(5)] },
		func() string {
			return []string{"ip-", "http://", "https://", "dnspoll:///", "ftp://", "file:///", "x-http://"}[rng.IntN(7)]
		},
		func() string {
			return []string{"[", "]", "%eth0", "::", "fe80", "abcd", "db", "x", "svc.local", ":443"}[rng.IntN(10)]
		},
		func() string {
			return []string{"10.1.2.3", "127.0.0.1", "169.254.169.254", "::1", "fd00:ec2::254", "2001:db8::1", "192_168_0_1", "1-2-3-4"}[rng.IntN(8)]
		},
	}
	var b strings.Builder
	for n := 1 + rng.IntN(7); n > 0; n-- {
		b.WriteString(pieces[rng.IntN(len(pieces))]())
	}
	return b.String()
}

// genSpan returns a random span of the Agent's model ending around now.
func genSpan(rng *rand.Rand, id uint64, now time.Time, peerKeys, grpc []string) *pb.Span {
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	s := &pb.Span{
		Service: pick("shop", "cart"), Name: pick("op", "http.server.request"), Resource: pick("GET /", "POST /pay"),
		Type: pick("web", "http", ""), TraceID: id, SpanID: id, ParentID: uint64(rng.IntN(2)) * 7,
		Meta:    map[string]string{"span.kind": pick("server", "client", "producer", "consumer", "internal", "", "SERVER", "Client", "unknown")},
		Metrics: map[string]float64{},
	}
	// Ends from 25 s ago (before the oldest bucket) to 25 s ahead (future).
	end := now.Add(time.Duration(rng.IntN(50_000)-25_000) * time.Millisecond)
	s.Duration = int64(rng.IntN(2_000_000_000))
	s.Start = end.UnixNano() - s.Duration
	if rng.IntN(4) == 0 {
		s.Error = 1
	}
	for k, p := range map[string]int{"_dd.top_level": 3, "_dd.measured": 3} {
		if rng.IntN(p) == 0 {
			s.Metrics[k] = 1
		}
	}
	if rng.IntN(10) == 0 {
		s.Metrics["_dd.partial_version"] = float64(rng.IntN(3) - 1)
	}
	switch rng.IntN(4) {
	case 0:
		s.Metrics["http.status_code"] = float64([]int{200, 404, 503}[rng.IntN(3)])
	case 1:
		s.Meta["http.status_code"] = pick("200", "404")
	}
	switch rng.IntN(3) {
	case 0:
		s.Meta["rpc.grpc.status_code"] = grpc[rng.IntN(len(grpc))]
	case 1:
		s.Metrics["grpc.code"] = float64(rng.IntN(20) - 3)
	}
	for _, k := range peerKeys {
		if rng.IntN(3) == 0 {
			s.Meta[k] = peerValue(rng)
		}
	}
	if rng.IntN(3) == 0 {
		s.Meta["_dd.base_service"] = pick("shop", "10.0.0.1", "orig")
	}
	if rng.IntN(3) == 0 {
		s.Meta["_dd.origin"] = pick("synthetics", "synthetics-browser", "rum", "lambda")
	}
	if rng.IntN(2) == 0 {
		s.Meta["http.method"] = pick("GET", "POST")
	}
	if rng.IntN(2) == 0 {
		s.Meta["http.endpoint"] = pick("/", "/pay/{id}")
	}
	if rng.IntN(3) == 0 {
		s.Meta["_dd.svc_src"] = pick("m", "opt.service")
	}
	s.Meta["env"] = pick("prod", "staging")
	s.Meta["version"] = pick("1", "2")
	return s
}

// groupsByBucket indexes the groups of payloads by bucket and full key.
func groupsByBucket(payloads []*pb.ClientStatsPayload) map[string]*pb.ClientGroupedStats {
	out := map[string]*pb.ClientGroupedStats{}
	for _, p := range payloads {
		for _, b := range p.Stats {
			for _, g := range b.Stats {
				tags := append([]string(nil), g.PeerTags...)
				sort.Strings(tags)
				k := fmt.Sprintf("%d|%s|%s|%s|%s|%s|%s|%s|%d|%v|%s|%s|%d|%s|%s|%s", b.Start, p.Env, p.Version,
					g.Service, g.Name, g.Resource, g.Type, g.SpanKind, g.HTTPStatusCode, g.Synthetics, strings.Join(tags, ","),
					g.ServiceSource, g.IsTraceRoot, g.GRPCStatusCode, g.HTTPMethod, g.HTTPEndpoint)
				out[k] = g
			}
		}
	}
	return out
}

// ours converts our payloads to the Agent's types.
func ours(ps []stats.Payload) []*pb.ClientStatsPayload {
	var out []*pb.ClientStatsPayload
	for _, p := range ps {
		cp := &pb.ClientStatsPayload{Env: p.Env, Version: p.Version}
		for _, b := range p.Buckets {
			cb := &pb.ClientStatsBucket{Start: b.Start, Duration: b.Duration}
			for _, g := range b.Groups {
				cb.Stats = append(cb.Stats, &pb.ClientGroupedStats{
					Service: g.Service, Name: g.Name, Resource: g.Resource, Type: g.Type, SpanKind: g.SpanKind,
					HTTPStatusCode: g.HTTPStatusCode, Synthetics: g.Synthetics, PeerTags: g.PeerTags,
					ServiceSource: g.ServiceSource, IsTraceRoot: pb.Trilean(g.IsTraceRoot), GRPCStatusCode: g.GRPCStatusCode,
					HTTPMethod: g.HTTPMethod, HTTPEndpoint: g.HTTPEndpoint, Hits: g.Hits, Errors: g.Errors,
					TopLevelHits: g.TopLevelHits, Duration: g.Duration, OkSummary: g.OkSummary, ErrorSummary: g.ErrorSummary,
				})
			}
			cp.Stats = append(cp.Stats, cb)
		}
		out = append(out, cp)
	}
	return out
}

func TestConcentratorAgainstSpanConcentrator(t *testing.T) {
	peerKeys := []string{"_dd.base_service", "db.instance", "out.host", "peer.hostname", "peer.service"}
	keys := stats.NewPeerTagKeys(peerKeys)
	// A clock crossing a bucket boundary between the two Adds of a span
	// ending in the future would clamp it differently: run again then.
	for attempt := 1; ; attempt++ {
		crossed := compareWithSpanConcentrator(t, keys, peerKeys, uint64(attempt))
		if !crossed || t.Failed() {
			return
		}
		if attempt == 3 {
			t.Fatal("the clock crossed a bucket boundary in three runs")
		}
		t.Logf("run %d crossed a bucket boundary: again", attempt)
	}
}

func compareWithSpanConcentrator(t *testing.T, keys *stats.PeerTagKeys, peerKeys []string, seed uint64) (crossed bool) {
	rng := rand.New(rand.NewPCG(seed, 42))
	grpc := grpcSpellings(rng)
	now := time.Now()
	bucket := func(t time.Time) int64 { return t.UnixNano() - t.UnixNano()%int64(10*time.Second) }
	agent := agentstats.NewSpanConcentrator(&agentstats.SpanConcentratorConfig{
		ComputeStatsBySpanKind: true, BucketInterval: int64(10 * time.Second),
	}, now)
	c, err := stats.New(stats.Config{MaxGroups: 1 << 20}, now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4000 {
		s := genSpan(rng, uint64(i+1), now, peerKeys, grpc)
		// Ours is given the span as written, the Agent's as normalized.
		c.Add(statsSpan(s, statsChunk{s}, keys))
		agentNormalizePeerServices(s)
		if ss, ok := agent.NewStatSpanWithConfig(agentstats.StatSpanConfig{
			Service: s.Service, Resource: s.Resource, Name: s.Name, Type: s.Type, ParentID: s.ParentID,
			Start: s.Start, Duration: s.Duration, Error: s.Error, Meta: s.Meta, Metrics: s.Metrics,
			PeerTags: peerKeys, HTTPMethod: s.Meta["http.method"], HTTPEndpoint: s.Meta["http.endpoint"],
		}); ok {
			agent.AddSpan(ss, agentstats.PayloadAggregationKey{Env: s.Meta["env"], Version: s.Meta["version"]}, "", nil, s.Meta["_dd.origin"])
		}
	}
	if bucket(time.Now()) != bucket(now) {
		return true
	}
	end := now.Add(time.Hour)
	want := groupsByBucket(agent.Flush(end.UnixNano(), true))
	got := groupsByBucket(ours(c.Flush(end, true)))
	var missing, extra []string
	for k := range want {
		if got[k] == nil {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if want[k] == nil {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Fatalf("%d groups (the Agent %d): missing %q, extra %q", len(got), len(want), first(missing, 5), first(extra, 5))
	}
	for k, w := range want {
		g := got[k]
		if diff := cmp.Diff([]uint64{w.Hits, w.Errors, w.TopLevelHits, w.Duration}, []uint64{g.Hits, g.Errors, g.TopLevelHits, g.Duration}); diff != "" {
			t.Errorf("%s: hits, errors, top-level hits, duration (-Agent +ours):\n%s", k, diff)
		}
		if string(w.OkSummary) != string(g.OkSummary) || string(w.ErrorSummary) != string(g.ErrorSummary) {
			t.Errorf("%s: summaries differ", k)
		}
	}
	if len(want) < 1000 {
		t.Errorf("only %d groups: the generator does not spread the keys", len(want))
	}
	t.Logf("%d groups identical", len(want))
	return false
}

// agentNormalizePeerServices applies to s what the Agent's normalizer does
// to peer.service and _dd.base_service before its concentrator reads them
// (the SpanConcentrator does not normalize; our concentrator does).
func agentNormalizePeerServices(s *pb.Span) {
	for _, k := range []string{"peer.service", "_dd.base_service"} {
		if v := s.Meta[k]; v != "" {
			s.Meta[k], _ = normalize.NormalizePeerService(v)
		}
	}
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// TestPeerQuantizationAgainstAgent gives our concentrator client spans whose
// one peer tag is a generated host-like value, and checks each tag against
// the Agent's obfuscate.QuantizePeerIPAddresses.
func TestPeerQuantizationAgainstAgent(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	values := []string{"", "db", "10.1.2.3", "10.1.2.3:80.foo", "1-2-3-4x", "[2001:db8::1]:443", "fe80::1%eth0", "::",
		"x-http://10.1.2.3", "http://", "a,a,b", ",,", "10.0.0.1:9092,10.0.0.2:9092,kafka:92", "ip-10-1-2-3.ec2.internal"}
	for range 6000 {
		values = append(values, peerValue(rng))
	}
	keys := stats.NewPeerTagKeys([]string{"peer.hostname"})
	now := time.Now()
	c, err := stats.New(stats.Config{MaxGroups: 1 << 20}, now)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range values {
		c.Add(&stats.Span{
			Service: "s", Name: "n", Resource: strconv.Itoa(i), SpanKind: "client", Measured: true,
			Start: now.UnixNano() - 10, Duration: 1, PeerTagKeys: keys, PeerTagValues: []string{v},
		})
	}
	n := 0
	for _, p := range c.Flush(now.Add(time.Hour), true) {
		for _, b := range p.Buckets {
			for _, g := range b.Groups {
				n++
				i, _ := strconv.Atoi(g.Resource)
				v := values[i]
				var want []string
				if v != "" {
					want = []string{"peer.hostname:" + obfuscate.QuantizePeerIPAddresses(v)}
				}
				if !cmp.Equal(want, g.PeerTags) {
					t.Errorf("value %q: peer tags %q, the Agent %q", v, g.PeerTags, want)
				}
			}
		}
	}
	if n != len(values) {
		t.Errorf("%d groups for %d values", n, len(values))
	}
}
