package ddtest

import (
	"context"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
)

// testSketch returns the protobuf of a sketch configured as the Agent's,
// holding values.
func testSketch(t testing.TB, values ...float64) []byte {
	t.Helper()
	s, err := ddsketch.LogCollapsingLowestDenseDDSketch(0.01, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := s.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := proto.Marshal(s.ToProto())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// group is a ClientGroupedStats with every key, as dd-trace-go writes it;
// extra keys replace or add to them.
func group(t testing.TB, extra ...kv) val {
	kvs := []kv{
		{"Service", str("checkout")},
		{"Name", str("http.server.request")},
		{"Resource", str("GET /cart")},
		{"HTTPStatusCode", u32(200)},
		{"Type", str("web")},
		{"DBType", str("")},
		{"Hits", u64(3)},
		{"Errors", u64(1)},
		{"Duration", u64(6000)},
		{"OkSummary", bin(testSketch(t, 1000, 2000))},
		{"ErrorSummary", bin(testSketch(t, 3000))},
		{"Synthetics", boolean(false)},
		{"TopLevelHits", u64(3)},
		{"SpanKind", str("server")},
		{"PeerTags", arr()},
		{"IsTraceRoot", i32(1)},
		{"GRPCStatusCode", str("")},
		{"HTTPMethod", str("GET")},
		{"HTTPEndpoint", str("/cart")},
		{"srv_src", str("")},
		{"SpanDerivedPrimaryTags", arr()},
		{"AdditionalMetricTags", arr()},
	}
	return obj(replace(kvs, extra)...)
}

// replace replaces the values of keys in kvs by those of extra, appending
// the others.
func replace(kvs, extra []kv) []kv {
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

func bucket(extra ...kv) val {
	return obj(replace([]kv{{"Start", u64(1_700_000_000_000_000_000)}, {"Duration", u64(10_000_000_000)}, {"AgentTimeShift", i64(0)}}, extra)...)
}

func statsBody(extra ...kv) val {
	return obj(replace([]kv{
		{"Hostname", str("")}, {"Env", str("prod")}, {"Version", str("1.2")},
		{"Lang", str("")}, {"TracerVersion", str("")}, {"RuntimeID", str("r-1")}, {"Sequence", u64(7)},
		{"AgentAggregation", str("")}, {"Service", str("checkout")}, {"ContainerID", str("")}, {"Tags", arr()},
		{"GitCommitSha", str("abc")}, {"ImageTag", str("")}, {"ProcessTagsHash", u64(0)}, {"ProcessTags", str("entrypoint.name:shop")},
	}, extra)...)
}

func postStats(t testing.TB, a *Agent, body []byte, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base(a)+"/v0.6/stats", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", msgpackCT)
	req.Header.Set("Datadog-Meta-Lang", "go")
	req.Header.Set("Datadog-Meta-Tracer-Version", "v1")
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, a, req)
}

func TestStatsRoundTrip(t *testing.T) {
	a := New(t)
	body := encode(statsBody(kv{"Stats", arr(bucket(kv{"Stats", arr(
		group(t),
		group(t, kv{"SpanKind", str("client")}, kv{"PeerTags", arr(str("peer.service:db"), str("db.system:postgresql"))},
			kv{"IsTraceRoot", i32(2)}, kv{"GRPCStatusCode", str("5")}, kv{"srv_src", str("opt.x")}, kv{"Synthetics", boolean(true)},
			kv{"AdditionalMetricTags", arr(str("a:b"))}, kv{"SpanDerivedPrimaryTags", arr(str("c:d"))}, kv{"Unknown", arr(fix(1))}),
	)}))}))
	status, msg := postStats(t, a, body, http.Header{"Datadog-Container-Id": {"cid"}})
	if status != http.StatusOK || msg != "" {
		t.Fatalf("status %d %q, want 200 with an empty body", status, msg)
	}
	got := a.Stats()
	if len(got) != 1 {
		t.Fatalf("%d payloads, want 1", len(got))
	}
	if h := got[0].Header.Get("Datadog-Container-ID"); h != "cid" {
		t.Errorf("container header %q not recorded", h)
	}
	got[0].Header = nil
	g := GroupedStats{
		Service: "checkout", Name: "http.server.request", Resource: "GET /cart", HTTPStatusCode: 200, Type: "web",
		Hits: 3, Errors: 1, Duration: 6000, OkSummary: testSketch(t, 1000, 2000), ErrorSummary: testSketch(t, 3000),
		TopLevelHits: 3, SpanKind: "server", IsTraceRoot: 1, HTTPMethod: "GET", HTTPEndpoint: "/cart",
	}
	g2 := g
	g2.SpanKind, g2.PeerTags, g2.IsTraceRoot, g2.GRPCStatusCode, g2.ServiceSource, g2.Synthetics =
		"client", []string{"peer.service:db", "db.system:postgresql"}, 2, "5", "opt.x", true
	g2.AdditionalMetricTags, g2.SpanDerivedPrimaryTags = []string{"a:b"}, []string{"c:d"}
	want := []StatsPayload{{
		Env: "prod", Version: "1.2", RuntimeID: "r-1", Sequence: 7, Service: "checkout", GitCommitSha: "abc",
		ProcessTags: "entrypoint.name:shop",
		Stats:       []StatsBucket{{Start: 1_700_000_000_000_000_000, Duration: 10_000_000_000, Stats: []GroupedStats{g, g2}}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	ok := got[0].Stats[0].Stats[0].OkSummary
	if n := ok.Count(); n != 2 {
		t.Errorf("OkSummary count %v, want 2", n)
	}
	if q := ok.Quantile(1); math.Abs(q-2000)/2000 > 0.01 {
		t.Errorf("OkSummary p100 %v, want 2000 within 1%%", q)
	}
	if q := Sketch(nil).Quantile(0.5); !math.IsNaN(q) {
		t.Errorf("quantile of a nil sketch %v, want NaN", q)
	}
}

// TestStatsResultsAreCopies: what Stats and WaitStats return is the
// caller's to change.
func TestStatsResultsAreCopies(t *testing.T) {
	a := New(t)
	body := encode(statsBody(kv{"Tags", arr(str("a:b"))}, kv{"Stats", arr(bucket(kv{"Stats", arr(
		group(t, kv{"PeerTags", arr(str("peer.service:db"))}, kv{"AdditionalMetricTags", arr(str("c:d"))}, kv{"SpanDerivedPrimaryTags", arr(str("e:f"))}),
	)}))}))
	if status, msg := postStats(t, a, body, nil); status != http.StatusOK {
		t.Fatalf("status %d %q", status, msg)
	}
	want := a.Stats()
	want[0].Header = want[0].Header.Clone()
	// A copy made by hand, before anything is changed.
	want[0].Tags = append([]string(nil), want[0].Tags...)
	b := want[0].Stats[0]
	g := b.Stats[0]
	g.PeerTags = append([]string(nil), g.PeerTags...)
	g.AdditionalMetricTags = append([]string(nil), g.AdditionalMetricTags...)
	g.SpanDerivedPrimaryTags = append([]string(nil), g.SpanDerivedPrimaryTags...)
	g.OkSummary = append(Sketch(nil), g.OkSummary...)
	g.ErrorSummary = append(Sketch(nil), g.ErrorSummary...)
	b.Stats = []GroupedStats{g}
	want[0].Stats = []StatsBucket{b}

	scribble := func(p *StatsPayload) {
		p.Header.Set("Datadog-Meta-Lang", "changed")
		p.Tags[0] = "changed"
		p.Stats[0].Start = 1
		g := &p.Stats[0].Stats[0]
		g.Hits = 1000
		g.PeerTags[0] = "changed"
		g.AdditionalMetricTags[0] = "changed"
		g.SpanDerivedPrimaryTags[0] = "changed"
		g.OkSummary[0] ^= 0xff
		g.ErrorSummary[0] ^= 0xff
	}
	scribble(&a.Stats()[0])
	got, err := a.WaitStats(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	scribble(&got[0])
	if diff := cmp.Diff(want, a.Stats()); diff != "" {
		t.Errorf("stats after the caller changed earlier results (-want +got):\n%s", diff)
	}
}

func TestStatsRejections(t *testing.T) {
	a := New(t)
	one := func(extra ...kv) []byte {
		return encode(statsBody(kv{"Stats", arr(bucket(kv{"Stats", arr(group(t, extra...))}))}))
	}
	for _, tc := range []struct {
		name   string
		body   []byte
		header http.Header
		reason string
	}{
		{"not a map", encode(arr()), nil, "expected a map"},
		{"nil payload", encode(null()), nil, "expected a map"},
		{"empty body", nil, nil, "truncated"},
		{"empty key", encode(anyMap(str(""), str("x"))), nil, "empty key"},
		{"int key", encode(anyMap(fix(1), str("x"))), nil, "string key"},
		{"bin string", encode(statsBody(kv{"Env", bin([]byte("prod"))})), nil, "expected a str, got bin"},
		{"nil string", encode(statsBody(kv{"Env", null()})), nil, "expected a str, got nil"},
		{"str summary", one(kv{"OkSummary", str("x")}), nil, "expected bin"},
		{"nil summary", one(kv{"OkSummary", null()}), nil, "expected bin"},
		{"empty summary", one(kv{"OkSummary", bin([]byte{})}), nil, "without an index mapping"},
		{"garbage summary", one(kv{"ErrorSummary", bin([]byte{0xff, 0xff})}), nil, "not a DDSketch"},
		{"negative hits", one(kv{"Hits", i8(-1)}), nil, "negative"},
		{"float hits", one(kv{"Hits", f64(1)}), nil, "expected an unsigned integer"},
		{"nil hits", one(kv{"Hits", null()}), nil, "expected an unsigned integer"},
		{"status overflow", one(kv{"HTTPStatusCode", u64(1 << 32)}), nil, "overflows uint32"},
		{"int synthetics", one(kv{"Synthetics", fix(1)}), nil, "expected a bool"},
		{"trace root 3", one(kv{"IsTraceRoot", fix(3)}), nil, "not a Trilean"},
		{"nil peer tags", one(kv{"PeerTags", null()}), nil, "expected an array"},
		{"int peer tag", one(kv{"PeerTags", arr(fix(1))}), nil, "expected a str"},
		{"nil bucket", encode(statsBody(kv{"Stats", arr(null())})), nil, "nil bucket"},
		{"nil group", encode(statsBody(kv{"Stats", arr(bucket(kv{"Stats", arr(null())}))})), nil, "nil grouped stats"},
		{"time shift above int64", encode(statsBody(kv{"Stats", arr(bucket(kv{"AgentTimeShift", u64(math.MaxUint64)}))})), nil, "overflows int64"},
		{"trailing bytes", append(encode(statsBody()), 0xc0), nil, "trailing"},
		{"repeated key", encode(obj(kv{"Env", str("a")}, kv{"Env", str("b")})), nil, `key "Env" repeated`},
		{"no content type", encode(statsBody()), http.Header{"Content-Type": {""}}, "not application/msgpack"},
		{"obfuscated", encode(statsBody()), http.Header{"Datadog-Obfuscation-Version": {"1"}}, "Datadog-Obfuscation-Version"},
		{"no lang", encode(statsBody()), http.Header{"Datadog-Meta-Lang": {""}}, "no language"},
		{"no tracer version", encode(statsBody()), http.Header{"Datadog-Meta-Tracer-Version": {""}}, "no tracer version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.Reset()
			status, _ := postStats(t, a, tc.body, tc.header)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", status)
			}
			r := a.Rejections()
			if len(r) != 1 || r[0].Path != "/v0.6/stats" || !strings.Contains(r[0].Reason, tc.reason) {
				t.Fatalf("rejections %+v, want one on /v0.6/stats saying %q", r, tc.reason)
			}
			if n := len(a.Stats()); n != 0 {
				t.Errorf("%d payloads recorded", n)
			}
		})
	}
}

func TestStatsLenient(t *testing.T) {
	a := New(t)
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"empty map", encode(obj())},
		{"bin keys", encode(anyMap(bin([]byte("Env")), str("prod")))},
		{"integers of any width", encode(statsBody(kv{"Sequence", i8(3)}, kv{"Stats", arr(bucket(kv{"Start", i64(5)}, kv{"Duration", u8(9)},
			kv{"Stats", arr(group(t, kv{"Hits", i32(4)}, kv{"HTTPStatusCode", i64(404)}, kv{"IsTraceRoot", u64(2)}))}))}))},
		{"missing summaries", encode(statsBody(kv{"Stats", arr(bucket(kv{"Stats", arr(obj(kv{"Service", str("s")}))}))}))},
		{"unknown keys", encode(statsBody(kv{"Future", obj(kv{"x", arr(null(), f32(1))})}))},
		{"lang in the payload", encode(statsBody(kv{"Lang", str("go")}, kv{"TracerVersion", str("v2")}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.Reset()
			h := http.Header{}
			if tc.name == "lang in the payload" {
				h.Set("Datadog-Meta-Lang", "")
				h.Set("Datadog-Meta-Tracer-Version", "")
			}
			if status, msg := postStats(t, a, tc.body, h); status != http.StatusOK {
				t.Fatalf("status %d: %s", status, msg)
			}
		})
	}
}

func TestClientStatsInfo(t *testing.T) {
	a := New(t, WithClientStats(true, true), WithPeerTags("peer.service", "db.system"))
	info := getInfo(t, a)
	if diff := cmp.Diff([]any{"/v0.4/traces", "/v0.5/traces", "/v0.6/stats"}, info["endpoints"]); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	if info["client_drop_p0s"] != true {
		t.Errorf("client_drop_p0s = %v, want true", info["client_drop_p0s"])
	}
	if diff := cmp.Diff([]any{"peer.service", "db.system"}, info["peer_tags"]); diff != "" {
		t.Errorf("peer_tags (-want +got):\n%s", diff)
	}
	// An Agent whose probabilistic sampler is on lists the endpoint and
	// does not let clients drop priority-0 traces.
	a.SetClientStats(true, false)
	a.SetPeerTags(nil)
	info = getInfo(t, a)
	if diff := cmp.Diff([]any{"/v0.4/traces", "/v0.5/traces", "/v0.6/stats"}, info["endpoints"]); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	if info["client_drop_p0s"] != false || info["peer_tags"] != nil {
		t.Errorf("client_drop_p0s = %v, peer_tags = %v, want false and null", info["client_drop_p0s"], info["peer_tags"])
	}
	a.SetClientStats(false, false)
	if diff := cmp.Diff([]any{"/v0.4/traces", "/v0.5/traces"}, getInfo(t, a)["endpoints"]); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
}

func TestClientHeaders(t *testing.T) {
	a := New(t, WithClientStats(true, true))
	send := func(h map[string]string) Payload {
		t.Helper()
		a.Reset()
		req, _ := http.NewRequest(http.MethodPost, base(a)+"/v0.4/traces", strings.NewReader(string(v04(span()))))
		req.Header.Set("Content-Type", msgpackCT)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		if status, msg := do(t, a, req); status != http.StatusOK {
			t.Fatalf("status %d: %s", status, msg)
		}
		return a.Payloads()[0]
	}
	for _, tc := range []struct {
		headers map[string]string
		want    ClientHeaders
	}{
		{nil, ClientHeaders{}},
		{map[string]string{"Datadog-Client-Computed-Stats": "yes", "Datadog-Client-Computed-Top-Level": "t",
			"Datadog-Client-Dropped-P0-Traces": "4", "Datadog-Client-Dropped-P0-Spans": "12"},
			ClientHeaders{ComputedStats: true, ComputedTopLevel: true, DroppedP0Traces: 4, DroppedP0Spans: 12}},
		{map[string]string{"Datadog-Client-Computed-Stats": "false", "Datadog-Client-Computed-Top-Level": "0",
			"Datadog-Client-Dropped-P0-Traces": "x"}, ClientHeaders{}},
	} {
		p := send(tc.headers)
		if diff := cmp.Diff(tc.want, p.ClientHeaders()); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.headers, diff)
		}
		if len(p.Notes) != 0 {
			t.Errorf("%v: notes %q", tc.headers, p.Notes)
		}
	}
	// Computed stats announced while /info does not allow them: the Agent
	// would compute no stats for these spans.
	a.SetClientStats(true, false)
	p := send(map[string]string{"Datadog-Client-Computed-Stats": "yes"})
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "Datadog-Client-Computed-Stats") {
		t.Errorf("notes %q, want one about the stats the Agent does not compute", p.Notes)
	}
}

func TestWaitStats(t *testing.T) {
	a := New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan []StatsPayload, 1)
	go func() {
		got, err := a.WaitStats(ctx, 2)
		if err != nil {
			t.Errorf("WaitStats: %v", err)
		}
		done <- got
	}()
	for range 2 {
		if status, msg := postStats(t, a, encode(statsBody()), nil); status != http.StatusOK {
			t.Fatalf("status %d: %s", status, msg)
		}
	}
	select {
	case got := <-done:
		if len(got) != 2 {
			t.Errorf("WaitStats returned %d payloads, want 2", len(got))
		}
	case <-ctx.Done():
		t.Fatal("WaitStats did not return")
	}
	short, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if _, err := a.WaitStats(short, 3); err != context.DeadlineExceeded {
		t.Errorf("WaitStats for a third payload: %v, want the deadline", err)
	}
}

func TestFailNextStats(t *testing.T) {
	a := New(t)
	a.FailNextStats(1, http.StatusServiceUnavailable)
	if status, _ := postStats(t, a, encode(statsBody()), nil); status != http.StatusServiceUnavailable {
		t.Errorf("first status %d, want 503", status)
	}
	if status, _ := postStats(t, a, encode(statsBody()), nil); status != http.StatusOK {
		t.Errorf("second status %d, want 200", status)
	}
	if n := len(a.Stats()); n != 1 {
		t.Errorf("%d payloads, want 1 (the failed one is not recorded)", n)
	}
	if n := len(a.Rejections()); n != 0 {
		t.Errorf("%d rejections, want 0 (an injected failure is not one)", n)
	}
}
