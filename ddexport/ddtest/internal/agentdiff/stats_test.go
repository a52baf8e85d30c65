package agentdiff

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"testing"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"github.com/tinylib/msgp/msgp"
	"google.golang.org/protobuf/proto"
)

// agentDecodeStats decodes body as the Agent's /v0.6/stats handler does.
func agentDecodeStats(body []byte) (p *pb.ClientStatsPayload, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("agent decoder panicked: %v", r)
		}
	}()
	p = new(pb.ClientStatsPayload)
	return p, msgp.Decode(bytes.NewReader(body), p)
}

// fakeDecodeStats sends body to a ddtest agent's /v0.6/stats, with the
// headers a tracer sends, and returns the decoded payload or the reason it
// was refused.
func fakeDecodeStats(t testing.TB, a *ddtest.Agent, body []byte) (*ddtest.StatsPayload, string) {
	t.Helper()
	a.Reset()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, a.URL()+"/v0.6/stats", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/msgpack")
	req.Header.Set("Datadog-Meta-Lang", "go")
	req.Header.Set("Datadog-Meta-Tracer-Version", "v1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		p := a.Stats()[0]
		p.Header = nil
		return &p, ""
	}
	r := a.Rejections()
	if len(r) != 1 {
		t.Fatalf("status %d without a rejection", resp.StatusCode)
	}
	return nil, r[0].Reason
}

// fromAgent converts the Agent's decoded payload into ddtest's types, to
// compare them. nil elements, which ddtest refuses, have no equivalent.
func fromAgent(p *pb.ClientStatsPayload) ddtest.StatsPayload {
	strs := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	sketch := func(b []byte) ddtest.Sketch {
		if b == nil {
			return nil
		}
		return ddtest.Sketch(b)
	}
	out := ddtest.StatsPayload{
		Hostname: p.Hostname, Env: p.Env, Version: p.Version, Lang: p.Lang, TracerVersion: p.TracerVersion,
		RuntimeID: p.RuntimeID, Sequence: p.Sequence, AgentAggregation: p.AgentAggregation, Service: p.Service,
		ContainerID: p.ContainerID, Tags: strs(p.Tags), GitCommitSha: p.GitCommitSha, ImageTag: p.ImageTag,
		ProcessTagsHash: p.ProcessTagsHash, ProcessTags: p.ProcessTags,
	}
	for _, b := range p.Stats {
		if b == nil {
			continue
		}
		db := ddtest.StatsBucket{Start: b.Start, Duration: b.Duration, AgentTimeShift: b.AgentTimeShift}
		for _, g := range b.Stats {
			if g == nil {
				continue
			}
			db.Stats = append(db.Stats, ddtest.GroupedStats{
				Service: g.Service, Name: g.Name, Resource: g.Resource, HTTPStatusCode: g.HTTPStatusCode, Type: g.Type,
				DBType: g.DBType, Hits: g.Hits, Errors: g.Errors, Duration: g.Duration,
				OkSummary: sketch(g.OkSummary), ErrorSummary: sketch(g.ErrorSummary), Synthetics: g.Synthetics,
				TopLevelHits: g.TopLevelHits, SpanKind: g.SpanKind, PeerTags: strs(g.PeerTags),
				IsTraceRoot: int32(g.IsTraceRoot), GRPCStatusCode: g.GRPCStatusCode, HTTPMethod: g.HTTPMethod,
				HTTPEndpoint: g.HTTPEndpoint, ServiceSource: g.ServiceSource,
				SpanDerivedPrimaryTags: strs(g.SpanDerivedPrimaryTags), AdditionalMetricTags: strs(g.AdditionalMetricTags),
			})
		}
		out.Stats = append(out.Stats, db)
	}
	return out
}

// sketchBytes is the summary of a sketch configured as the Agent's.
func sketchBytes(values ...float64) []byte {
	s, err := ddsketch.LogCollapsingLowestDenseDDSketch(0.01, 2048)
	must(err)
	for _, v := range values {
		must(s.Add(v))
	}
	b, err := proto.Marshal(s.ToProto())
	must(err)
	return b
}

// with returns kvs with the values of extra's keys replaced, and extra's
// other keys appended: a key is never written twice.
func with(kvs []kv, extra []kv) []kv {
	out := append([]kv(nil), kvs...)
next:
	for _, e := range extra {
		for i := range out {
			if out[i].k == e.k {
				out[i] = e
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

// grouped is a ClientGroupedStats with every key, extra replacing them.
func grouped(extra ...kv) val {
	return obj(with([]kv{
		{"Service", str("checkout")}, {"Name", str("op")}, {"Resource", str("GET /")}, {"HTTPStatusCode", u64(200)},
		{"Type", str("web")}, {"DBType", str("")}, {"Hits", u64(2)}, {"Errors", u64(1)}, {"Duration", u64(3000)},
		{"OkSummary", bin(sketchBytes(1000))}, {"ErrorSummary", bin(sketchBytes(2000))}, {"Synthetics", boolean(false)},
		{"TopLevelHits", u64(2)}, {"SpanKind", str("server")}, {"PeerTags", arr(str("peer.service:db"))},
		{"IsTraceRoot", i32(1)}, {"GRPCStatusCode", str("5")}, {"HTTPMethod", str("GET")}, {"HTTPEndpoint", str("/")},
		{"srv_src", str("m")}, {"SpanDerivedPrimaryTags", arr()}, {"AdditionalMetricTags", arr(str("a:b"))},
	}, extra)...)
}

func statsBucket(extra ...kv) val {
	return obj(with([]kv{{"Start", u64(1_700_000_000_000_000_000)}, {"Duration", u64(10_000_000_000)},
		{"Stats", arr(grouped())}, {"AgentTimeShift", i64(0)}}, extra)...)
}

func statsPayload(extra ...kv) val {
	return obj(with([]kv{
		{"Hostname", str("")}, {"Env", str("prod")}, {"Version", str("1")}, {"Stats", arr(statsBucket())},
		{"Lang", str("")}, {"TracerVersion", str("")}, {"RuntimeID", str("r")}, {"Sequence", u64(1)},
		{"AgentAggregation", str("")}, {"Service", str("checkout")}, {"ContainerID", str("")}, {"Tags", arr()},
		{"GitCommitSha", str("")}, {"ImageTag", str("")}, {"ProcessTagsHash", u64(0)}, {"ProcessTags", str("")},
	}, extra)...)
}

// oneGroup is a payload of one bucket of one group with extra keys.
func oneGroup(extra ...kv) []byte {
	return encode(statsPayload(kv{"Stats", arr(statsBucket(kv{"Stats", arr(grouped(extra...))}))}))
}

func nested(depth int) val {
	v := arr()
	for range depth {
		v = arr(v)
	}
	return v
}

var statsCases = []diffCase{
	// Accepted by both.
	{name: "full", body: encode(statsPayload())},
	{name: "empty map", body: encode(obj())},
	{name: "integers of any width", body: encode(statsPayload(kv{"Sequence", i8(3)}, kv{"ProcessTagsHash", fix(7)},
		kv{"Stats", arr(statsBucket(kv{"Start", i64(5)}, kv{"AgentTimeShift", i8(-3)},
			kv{"Stats", arr(grouped(kv{"Hits", u8(4)}, kv{"HTTPStatusCode", i64(404)}, kv{"IsTraceRoot", u64(2)}, kv{"Errors", fix(0)}))}))}))},
	{name: "largest values", body: encode(statsPayload(kv{"Stats", arr(statsBucket(kv{"Start", u64(math.MaxUint64)},
		kv{"AgentTimeShift", i64(math.MinInt64)}, kv{"Stats", arr(grouped(kv{"HTTPStatusCode", u64(math.MaxUint32)}, kv{"Duration", u64(math.MaxUint64)}))}))}))},
	{name: "bin keys", body: encode(anyMap(bin([]byte("Env")), str("prod"), bin([]byte("Stats")), arr()))},
	{name: "unknown keys", body: encode(statsPayload(kv{"Future", obj(kv{"x", arr(null(), f32(1), boolean(true))})},
		kv{"Stats", arr(statsBucket(kv{"Other", bin([]byte{1})}, kv{"Stats", arr(grouped(kv{"ServiceSource", fix(1)}))}))}))},
	{name: "missing summaries", body: encode(statsPayload(kv{"Stats", arr(obj(kv{"Stats", arr(obj(kv{"Service", str("s")}))}))}))},
	{name: "invalid utf-8", body: encode(statsPayload(kv{"Env", str("a\xffb")}))},
	{name: "empty strings and arrays", body: oneGroup(kv{"PeerTags", arr()}, kv{"Service", str("")})},
	{name: "no buckets", body: encode(statsPayload(kv{"Stats", arr()}))},

	// Refused by both.
	{name: "not a map", body: encode(arr())},
	{name: "nil payload", body: encode(null())},
	{name: "empty body", body: nil},
	{name: "truncated", body: encode(statsPayload())[:40]},
	{name: "empty key", body: encode(anyMap(str(""), str("x")))},
	{name: "int key", body: encode(anyMap(fix(1), str("x")))},
	{name: "nil key", body: encode(anyMap(null(), str("x")))},
	{name: "bin string", body: encode(statsPayload(kv{"Env", bin([]byte("prod"))}))},
	{name: "nil string", body: encode(statsPayload(kv{"Hostname", null()}))},
	{name: "int string", body: oneGroup(kv{"Resource", fix(1)})},
	{name: "nil buckets", body: encode(statsPayload(kv{"Stats", null()}))},
	{name: "bucket not a map", body: encode(statsPayload(kv{"Stats", arr(arr())}))},
	{name: "nil groups", body: encode(statsPayload(kv{"Stats", arr(statsBucket(kv{"Stats", null()}))}))},
	{name: "str summary", body: oneGroup(kv{"OkSummary", str("x")})},
	{name: "nil summary", body: oneGroup(kv{"ErrorSummary", null()})},
	{name: "negative hits", body: oneGroup(kv{"Hits", i8(-1)})},
	{name: "negative fixint hits", body: oneGroup(kv{"Hits", fix(-1)})},
	{name: "float hits", body: oneGroup(kv{"Hits", f64(1)})},
	{name: "nil hits", body: oneGroup(kv{"Hits", null()})},
	{name: "negative start", body: encode(statsPayload(kv{"Stats", arr(statsBucket(kv{"Start", i64(-5)}))}))},
	{name: "status code overflow", body: oneGroup(kv{"HTTPStatusCode", u64(1 << 32)})},
	{name: "int synthetics", body: oneGroup(kv{"Synthetics", fix(1)})},
	{name: "nil synthetics", body: oneGroup(kv{"Synthetics", null()})},
	{name: "nil peer tags", body: oneGroup(kv{"PeerTags", null()})},
	{name: "int peer tag", body: oneGroup(kv{"PeerTags", arr(fix(1))})},
	{name: "bin peer tag", body: oneGroup(kv{"PeerTags", arr(bin([]byte("a:b")))})},
	{name: "trace root overflows int32", body: oneGroup(kv{"IsTraceRoot", i64(1 << 40)})},
	{name: "time shift above int64", body: encode(statsPayload(kv{"Stats", arr(statsBucket(kv{"AgentTimeShift", u64(math.MaxUint64)}))}))},
	{name: "nil tags", body: encode(statsPayload(kv{"Tags", null()}))},
	{name: "sequence as a string", body: encode(statsPayload(kv{"Sequence", str("1")}))},

	// Refused by ddtest only, on purpose (its package doc lists why).
	{name: "trailing bytes", body: append(encode(statsPayload()), 0xc0), stricter: true},
	{name: "nil bucket", body: encode(statsPayload(kv{"Stats", arr(null())})), stricter: true},
	{name: "nil group", body: encode(statsPayload(kv{"Stats", arr(statsBucket(kv{"Stats", arr(null())}))})), stricter: true},
	{name: "empty summary", body: oneGroup(kv{"OkSummary", bin([]byte{})}), stricter: true},
	{name: "garbage summary", body: oneGroup(kv{"OkSummary", bin([]byte{0xff, 0xff, 0xff})}), stricter: true},
	{name: "summary without mapping", body: oneGroup(kv{"OkSummary", bin([]byte{0x21, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f})}), stricter: true},
	{name: "trace root 3", body: oneGroup(kv{"IsTraceRoot", fix(3)}), stricter: true},
	{name: "nested deeper than 100", body: encode(statsPayload(kv{"Deep", nested(101)})), stricter: true},
	{name: "repeated key", body: encode(obj(kv{"Env", str("a")}, kv{"Env", str("b")})), stricter: true},
	{name: "repeated bucket array", body: encode(obj(kv{"Stats", arr(statsBucket())}, kv{"Stats", arr(obj(kv{"Stats", arr()}))})), stricter: true},
}

func TestStatsAgainstAgent(t *testing.T) {
	a := ddtest.New(t)
	for _, tc := range statsCases {
		t.Run(tc.name, func(t *testing.T) {
			p, agentErr := agentDecodeStats(tc.body)
			fake, reason := fakeDecodeStats(t, a, tc.body)
			switch {
			case tc.stricter:
				if agentErr != nil || fake != nil {
					t.Errorf("want the Agent to accept (got %v) and ddtest to refuse (got %q)", agentErr, reason)
				}
			case agentErr != nil && fake != nil:
				t.Errorf("the Agent refuses (%v), ddtest accepts", agentErr)
			case agentErr == nil && fake == nil:
				t.Errorf("the Agent accepts, ddtest refuses: %s", reason)
			case fake != nil:
				if diff := cmp.Diff(fromAgent(p), *fake); diff != "" {
					t.Errorf("decoded payloads (-agent +ddtest):\n%s", diff)
				}
			}
		})
	}
}

// FuzzStatsAgainstAgent: whatever ddtest's /v0.6/stats accepts, the
// Agent's decoder accepts too, with the same values.
func FuzzStatsAgainstAgent(f *testing.F) {
	for _, tc := range statsCases {
		f.Add(tc.body)
	}
	a := ddtest.New(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		p, agentErr := agentDecodeStats(body)
		fake, _ := fakeDecodeStats(t, a, body)
		if fake == nil {
			return
		}
		if agentErr != nil {
			t.Fatalf("ddtest accepts what the Agent refuses: %v", agentErr)
		}
		if diff := cmp.Diff(fromAgent(p), *fake); diff != "" {
			t.Fatalf("decoded payloads (-agent +ddtest):\n%s", diff)
		}
	})
}
