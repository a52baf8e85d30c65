package stats

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/pb/sketchpb"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is 3 seconds into a bucket.
var t0 = time.Date(2026, 12, 1, 12, 0, 3, 0, time.UTC)

const sec = int64(time.Second)

// b0 is the start of t0's bucket.
var b0 = t0.UnixNano() - 3*sec

// testConcentrator returns a concentrator created at now whose clock reads
// *clock (unix ns), initially now.
func testConcentrator(t testing.TB, cfg Config, now time.Time) (*Concentrator, *atomic.Int64) {
	t.Helper()
	c := mustNew(t, cfg, now)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	c.clock = clock.Load
	return c, &clock
}

func mustNew(tb testing.TB, cfg Config, now time.Time) *Concentrator {
	tb.Helper()
	c, err := New(cfg, now)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// base is a top-level server span ending 1 s before t0.
func base() Span {
	return Span{
		Service: "shop", Name: "http.server.request", Resource: "GET /cart", Type: "web", SpanKind: "server",
		Env: "prod", Version: "1.0", Start: t0.UnixNano() - 2*sec, Duration: sec,
		TopLevel: true, TraceRoot: true,
	}
}

func with(s Span, f func(*Span)) Span {
	f(&s)
	return s
}

// allGroups flushes everything and returns the groups of every payload and
// bucket, in order.
func allGroups(t *testing.T, c *Concentrator) []Group {
	t.Helper()
	var out []Group
	for _, p := range c.Flush(t0.Add(time.Hour), true) {
		for _, b := range p.Buckets {
			out = append(out, b.Groups...)
		}
	}
	return out
}

// noSketches compares groups without their summaries.
var noSketches = cmpopts.IgnoreFields(Group{}, "OkSummary", "ErrorSummary")

// baseGroup is the exported group of base() counted n times.
func baseGroup(n uint64) Group {
	return Group{
		Service: "shop", Name: "http.server.request", Resource: "GET /cart", Type: "web", SpanKind: "server",
		Hits: n, TopLevelHits: n, Duration: n * uint64(sec), IsTraceRoot: 1,
	}
}

func TestEligibility(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Span)
		want bool
	}{
		{"top-level server", func(s *Span) {}, true},
		{"server", func(s *Span) { s.TopLevel = false }, true},
		{"server in capitals", func(s *Span) { s.TopLevel, s.SpanKind = false, "SERVER" }, true},
		{"client", func(s *Span) { s.TopLevel, s.SpanKind = false, "client" }, true},
		{"producer", func(s *Span) { s.TopLevel, s.SpanKind = false, "Producer" }, true},
		{"consumer", func(s *Span) { s.TopLevel, s.SpanKind = false, "consumer" }, true},
		{"internal", func(s *Span) { s.TopLevel, s.SpanKind = false, "internal" }, false},
		{"no kind", func(s *Span) { s.TopLevel, s.SpanKind = false, "" }, false},
		{"other kind", func(s *Span) { s.TopLevel, s.SpanKind = false, "unknown" }, false},
		{"kind with a space", func(s *Span) { s.TopLevel, s.SpanKind = false, "server " }, false},
		{"top-level internal", func(s *Span) { s.SpanKind = "internal" }, true},
		{"measured internal", func(s *Span) { s.TopLevel, s.Measured, s.SpanKind = false, true, "internal" }, true},
		{"partial snapshot", func(s *Span) { s.PartialSnapshot = true }, false},
		{"partial snapshot of a client", func(s *Span) { s.TopLevel, s.SpanKind, s.PartialSnapshot = false, "client", true }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := testConcentrator(t, Config{}, t0)
			s := with(base(), tc.mod)
			c.Add(&s)
			if got := len(allGroups(t, c)) == 1; got != tc.want {
				t.Errorf("counted = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestKeyFields(t *testing.T) {
	keys := NewPeerTagKeys([]string{"peer.service"})
	for _, tc := range []struct {
		name string
		mod  func(*Span)
		// want is the group of the modified span; nil when it shares the
		// base span's group.
		want func(*Group)
	}{
		{"service", func(s *Span) { s.Service = "cart" }, func(g *Group) { g.Service = "cart" }},
		{"name", func(s *Span) { s.Name = "op" }, func(g *Group) { g.Name = "op" }},
		{"resource", func(s *Span) { s.Resource = "GET /" }, func(g *Group) { g.Resource = "GET /" }},
		{"type", func(s *Span) { s.Type = "http" }, func(g *Group) { g.Type = "http" }},
		{"span kind", func(s *Span) { s.SpanKind = "Server" }, func(g *Group) { g.SpanKind = "Server" }},
		{"HTTP status code", func(s *Span) { s.HTTPStatusCode = 503 }, func(g *Group) { g.HTTPStatusCode = 503 }},
		{"synthetics", func(s *Span) { s.Origin = "synthetics-browser" }, func(g *Group) { g.Synthetics = true }},
		{"other origin", func(s *Span) { s.Origin = "rum" }, nil},
		{"peer tags", func(s *Span) {
			s.SpanKind, s.PeerTagKeys, s.PeerTagValues = "client", keys, []string{"db"}
		}, func(g *Group) { g.SpanKind, g.PeerTags = "client", []string{"peer.service:db"} }},
		{"service source", func(s *Span) { s.ServiceSource = "opt.service" }, func(g *Group) { g.ServiceSource = "opt.service" }},
		{"not the trace root", func(s *Span) { s.TraceRoot = false }, func(g *Group) { g.IsTraceRoot = 2 }},
		{"gRPC status code", func(s *Span) { s.GRPCStatusCode = "NOT_FOUND" }, func(g *Group) { g.GRPCStatusCode = "5" }},
		{"HTTP method", func(s *Span) { s.HTTPMethod = "GET" }, func(g *Group) { g.HTTPMethod = "GET" }},
		{"HTTP endpoint", func(s *Span) { s.HTTPEndpoint = "/cart" }, func(g *Group) { g.HTTPEndpoint = "/cart" }},
		{"base service of a server span", func(s *Span) { s.BaseService, s.PeerTagKeys = "other", keys }, nil},
		{"peer values of a server span", func(s *Span) { s.PeerTagKeys, s.PeerTagValues = keys, []string{"db"} }, nil},
		{"error", func(s *Span) { s.Error = true }, nil},
		{"not top-level", func(s *Span) { s.TopLevel = false }, nil},
		{"measured", func(s *Span) { s.Measured = true }, nil},
		{"weight", func(s *Span) { s.Weight = 4 }, nil},
		{"start and duration in the bucket", func(s *Span) { s.Start += 100; s.Duration -= 100 }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := testConcentrator(t, Config{}, t0)
			b := base()
			s := with(base(), tc.mod)
			c.Add(&b)
			c.Add(&s)
			got := allGroups(t, c)
			if tc.want == nil {
				if len(got) != 1 || got[0].Hits < 2 {
					t.Errorf("groups %+v, want one of both spans", got)
				}
				return
			}
			g := baseGroup(1)
			tc.want(&g)
			var other []Group
			for _, x := range got {
				if !cmp.Equal(x, baseGroup(1), noSketches) {
					other = append(other, x)
				}
			}
			if len(got) != 2 || len(other) != 1 {
				t.Fatalf("groups %+v, want the base span's and another", got)
			}
			if diff := cmp.Diff(g, other[0], noSketches); diff != "" {
				t.Errorf("group (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPayloadKey(t *testing.T) {
	c, _ := testConcentrator(t, Config{Service: "shop", RuntimeID: "rid", GitCommitSha: "abc", ProcessTags: "entrypoint.name:shop"}, t0)
	for _, s := range []Span{base(), with(base(), func(s *Span) { s.Env = "staging" }), with(base(), func(s *Span) { s.Version = "2.0" })} {
		c.Add(&s)
	}
	ps := c.Flush(t0.Add(time.Hour), true)
	var got []Payload
	for _, p := range ps {
		p.Buckets = nil
		got = append(got, p)
	}
	want := []Payload{
		{Env: "prod", Version: "1.0", Service: "shop", RuntimeID: "rid", GitCommitSha: "abc", ProcessTags: "entrypoint.name:shop", Sequence: 0},
		{Env: "prod", Version: "2.0", Service: "shop", RuntimeID: "rid", GitCommitSha: "abc", ProcessTags: "entrypoint.name:shop", Sequence: 1},
		{Env: "staging", Version: "1.0", Service: "shop", RuntimeID: "rid", GitCommitSha: "abc", ProcessTags: "entrypoint.name:shop", Sequence: 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payloads (-want +got):\n%s", diff)
	}
	s := base()
	c.Add(&s)
	if ps := c.Flush(t0.Add(time.Hour), true); len(ps) != 1 || ps[0].Sequence != 3 {
		t.Errorf("next payload %+v, want sequence 3", ps)
	}
}

func TestGRPCStatus(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "0": "0", "5": "5", "16": "16", "05": "5", "0005": "5",
		"4294967295": "4294967295", "4294967296": "", "-1": "", "+5": "", "5.0": "", " 5": "",
		"OK": "0", "ok": "0", "NOT_FOUND": "5", "not_found": "5", "NotFound": "5", "NOTFOUND": "5",
		"StatusCode.NOT_FOUND": "5", "StatusCode.NotFound": "5", "StatusCode.5": "", "statuscode.NOT_FOUND": "",
		"Canceled": "1", "CANCELLED": "1", "cancelled": "1", "Unknown": "2", "InvalidArgument": "3",
		"DEADLINE_EXCEEDED": "4", "AlreadyExists": "6", "PermissionDenied": "7", "ResourceExhausted": "8",
		"FailedPrecondition": "9", "Aborted": "10", "OutOfRange": "11", "Unimplemented": "12",
		"Internal": "13", "Unavailable": "14", "DataLoss": "15", "Unauthenticated": "16",
		// strings.ToUpper maps the dotless i and the long s to ASCII.
		"\u0131nternal": "13", "\u017fTATUSCODE": "", "aborted\xff": "", "ABORTEDX": "", "Un_authenticated": "",
	} {
		if got := normalizeGRPCStatus(in); got != want {
			t.Errorf("normalizeGRPCStatus(%q) = %q, want %q", in, got, want)
		}
	}
	for v, want := range map[int64]string{0: "0", 14: "14", -2: "-2", 1 << 40: "1099511627776"} {
		if got := GRPCStatusCodeFromInt(v); got != want {
			t.Errorf("GRPCStatusCodeFromInt(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestPeerTags(t *testing.T) {
	keys := NewPeerTagKeys([]string{"peer.service", "_dd.base_service", "peer.hostname", "db.instance", "out.host"})
	vals := func(kv ...string) []string {
		v := make([]string, keys.Len())
		for i := 0; i < len(kv); i += 2 {
			v[keys.Index(kv[i])] = kv[i+1]
		}
		return v
	}
	for _, tc := range []struct {
		name string
		span Span
		want []string
	}{
		{"client", Span{SpanKind: "client", PeerTagKeys: keys, PeerTagValues: vals("peer.service", "billing", "peer.hostname", "10.1.2.3", "out.host", "db-1")},
			[]string{"out.host:db-1", "peer.hostname:blocked-ip-address", "peer.service:billing"}},
		{"producer", Span{SpanKind: "producer", PeerTagKeys: keys, PeerTagValues: vals("peer.service", "queue")}, []string{"peer.service:queue"}},
		{"consumer in capitals", Span{SpanKind: "CONSUMER", PeerTagKeys: keys, PeerTagValues: vals("peer.service", "queue")}, []string{"peer.service:queue"}},
		{"client with its base service among the values", Span{SpanKind: "client", BaseService: "ignored", PeerTagKeys: keys,
			PeerTagValues: vals("_dd.base_service", "orig", "db.instance", "cart")}, []string{"_dd.base_service:orig", "db.instance:cart"}},
		{"server", Span{SpanKind: "server", PeerTagKeys: keys, PeerTagValues: vals("peer.service", "billing")}, nil},
		{"internal with a base service", Span{SpanKind: "internal", BaseService: "orig", PeerTagKeys: keys, PeerTagValues: vals("peer.service", "x")},
			[]string{"_dd.base_service:orig"}},
		{"no kind with a base service", Span{BaseService: "orig", PeerTagKeys: keys}, []string{"_dd.base_service:orig"}},
		{"internal with an IP as base service", Span{SpanKind: "Internal", BaseService: "10.0.0.1", PeerTagKeys: keys}, []string{"_dd.base_service:blocked-ip-address"}},
		{"internal without base service", Span{SpanKind: "internal", PeerTagKeys: keys, PeerTagValues: vals("peer.service", "x")}, nil},
		{"server with a base service", Span{SpanKind: "server", BaseService: "orig", PeerTagKeys: keys}, nil},
		{"no keys", Span{SpanKind: "client", PeerTagValues: []string{"x"}}, nil},
		{"no keys, base service", Span{SpanKind: "internal", BaseService: "orig"}, nil},
		{"empty values", Span{SpanKind: "client", PeerTagKeys: keys, PeerTagValues: vals()}, nil},
		{"values shorter than the keys", Span{SpanKind: "client", PeerTagKeys: keys, PeerTagValues: []string{"orig"}}, []string{"_dd.base_service:orig"}},
		{"values longer than the keys", Span{SpanKind: "client", PeerTagKeys: keys, PeerTagValues: append(vals("peer.service", "b"), "extra")},
			[]string{"peer.service:b"}},
		{"list of addresses", Span{SpanKind: "client", PeerTagKeys: keys, PeerTagValues: vals("peer.hostname", "10.0.0.1:9092,10.0.0.2:9092,kafka:9092")},
			[]string{"peer.hostname:blocked-ip-address:9092,kafka:9092"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, peerTags(&tc.span, kindOf(tc.span.SpanKind))); diff != "" {
				t.Errorf("peer tags (-want +got):\n%s", diff)
			}
			// The concentrator groups by the same tags.
			c, _ := testConcentrator(t, Config{}, t0)
			s := tc.span
			s.Start, s.Duration, s.Measured = t0.UnixNano()-sec, 1, true
			c.Add(&s)
			if g := allGroups(t, c); len(g) != 1 || !cmp.Equal(tc.want, g[0].PeerTags) {
				t.Errorf("groups %+v, want one with peer tags %q", g, tc.want)
			}
		})
	}
}

func TestPeerTagsGroup(t *testing.T) {
	keys := NewPeerTagKeys([]string{"peer.hostname", "peer.service"})
	c, _ := testConcentrator(t, Config{}, t0)
	add := func(host, svc string) {
		s := with(base(), func(s *Span) {
			s.SpanKind, s.TopLevel, s.PeerTagKeys, s.PeerTagValues = "client", false, keys, []string{host, svc}
		})
		c.Add(&s)
	}
	add("10.0.0.1", "db") // two addresses, one quantized host: one group
	add("10.0.0.2", "db")
	add("db-1", "db") // another host
	add("", "db")     // no host
	add("db-1", "")   // no service
	got := map[string]uint64{}
	for _, g := range allGroups(t, c) {
		got[strings.Join(g.PeerTags, "|")] = g.Hits
	}
	want := map[string]uint64{
		"peer.hostname:blocked-ip-address|peer.service:db": 2,
		"peer.hostname:db-1|peer.service:db":               1,
		"peer.service:db":                                  1,
		"peer.hostname:db-1":                               1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hits by peer tags (-want +got):\n%s", diff)
	}
}

func TestPeerTagKeys(t *testing.T) {
	var none *PeerTagKeys
	if none.Len() != 0 || none.Index("peer.service") != -1 || none.IndexBytes([]byte("x")) != -1 || none.Keys() != nil {
		t.Error("a nil set is not empty")
	}
	if NewPeerTagKeys(nil) != nil || NewPeerTagKeys([]string{}) != nil {
		t.Error("no keys must give a nil set")
	}
	// Deduplicated, ordered as "key:" sorts: "a.b:" before "a:".
	k := NewPeerTagKeys([]string{"peer.service", "a", "a.b", "peer.service", "db.system"})
	if diff := cmp.Diff([]string{"a.b", "a", "db.system", "peer.service"}, k.Keys()); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	for i, key := range k.Keys() {
		if k.Index(key) != i || k.IndexBytes([]byte(key)) != i || k.Key(i) != key {
			t.Errorf("key %q is not at %d", key, i)
		}
	}
	for _, miss := range []string{"", "peer", "peer.servic", "peer.services", "b", "db.systen"} {
		if k.Index(miss) != -1 || k.IndexBytes([]byte(miss)) != -1 {
			t.Errorf("%q found", miss)
		}
	}
	if k.overlap {
		t.Error("no key+\":\" prefixes another here")
	}
	// "a:b" starts with "a:": the order of their tags depends on the
	// values, and they are sorted as strings.
	o := NewPeerTagKeys([]string{"a", "a:b"})
	if !o.overlap {
		t.Fatal("overlap not detected")
	}
	for _, v := range [][]string{{"c", "x"}, {"a", "x"}} {
		s := Span{SpanKind: "client", PeerTagKeys: o, PeerTagValues: v}
		want := []string{"a:" + v[0], "a:b:" + v[1]}
		if want[1] < want[0] {
			want[0], want[1] = want[1], want[0]
		}
		if diff := cmp.Diff(want, peerTags(&s, kindOf(s.SpanKind))); diff != "" {
			t.Errorf("values %q (-want +got):\n%s", v, diff)
		}
	}
}

func TestBuckets(t *testing.T) {
	end := func(e int64) Span { // a span of 2 s ending at e
		return with(base(), func(s *Span) { s.Start, s.Duration = e-2*sec, 2*sec })
	}
	for _, tc := range []struct {
		name  string
		span  Span
		start int64 // of the bucket it is counted in
	}{
		{"in the current bucket", end(b0 + 2*sec), b0},
		{"ends at a bucket's start", end(b0), b0},
		{"ends just before", end(b0 - 1), b0 - 10*sec},
		{"started in the previous bucket", end(b0 + 1), b0},
		{"long ago: the oldest bucket", end(b0 - 60*sec), b0 - 10*sec},
		{"in the future: now", end(b0 + 25*sec), b0},
		{"just ahead of the clock, in this bucket", end(b0 + 5*sec), b0},
		{"in the next bucket: now", end(b0 + 10*sec), b0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Created a bucket ago, so that the previous bucket is open.
			c, clock := testConcentrator(t, Config{}, t0.Add(-10*time.Second))
			clock.Store(t0.UnixNano())
			c.Add(&tc.span)
			ps := c.Flush(t0.Add(time.Hour), true)
			if len(ps) != 1 || len(ps[0].Buckets) != 1 {
				t.Fatalf("payloads %+v, want one bucket", ps)
			}
			b := ps[0].Buckets[0]
			if got := int64(b.Start); got != tc.start {
				t.Errorf("bucket starts at %+d s from t0's, want %+d s", (got-b0)/sec, (tc.start-b0)/sec)
			}
			if b.Duration != uint64(10*sec) {
				t.Errorf("bucket duration %d", b.Duration)
			}
		})
	}
}

func TestFlush(t *testing.T) {
	c, clock := testConcentrator(t, Config{}, t0)
	at := func(ts int64) { // a span ending at ts, added when the clock reads ts
		clock.Store(ts)
		s := with(base(), func(s *Span) { s.Start, s.Duration = ts-sec, sec })
		c.Add(&s)
	}
	starts := func(ps []Payload) []int64 {
		var out []int64
		for _, p := range ps {
			for _, b := range p.Buckets {
				out = append(out, (int64(b.Start)-b0)/sec)
			}
		}
		return out
	}
	at(b0 + sec)
	at(b0 + 11*sec)
	// At b0+15s both buckets are among the two newest.
	if ps := c.Flush(time.Unix(0, b0+15*sec), false); ps != nil {
		t.Fatalf("flush at +15 s: %v, want nothing", starts(ps))
	}
	// At b0+20s, b0 is 20 s old: it goes; b0+10 stays.
	at(b0 + 21*sec)
	if diff := cmp.Diff([]int64{0}, starts(c.Flush(time.Unix(0, b0+20*sec), false))); diff != "" {
		t.Errorf("flush at +20 s (-want +got):\n%s", diff)
	}
	// A late span for the flushed bucket is counted in the oldest open one.
	at(b0 + 22*sec)
	late := with(base(), func(s *Span) { s.Start, s.Duration = b0+sec, sec })
	c.Add(&late)
	ps := c.Flush(time.Unix(0, b0+31*sec), false)
	if diff := cmp.Diff([]int64{10}, starts(ps)); diff != "" {
		t.Errorf("flush at +31 s (-want +got):\n%s", diff)
	}
	if len(ps) == 1 && ps[0].Buckets[0].Groups[0].Hits != 2 {
		t.Errorf("bucket +10 s has %d hits, want 2 (its span and the late one)", ps[0].Buckets[0].Groups[0].Hits)
	}
	// Force takes everything, the current bucket included.
	if diff := cmp.Diff([]int64{20}, starts(c.Flush(time.Unix(0, b0+31*sec), true))); diff != "" {
		t.Errorf("forced flush (-want +got):\n%s", diff)
	}
	if ps := c.Flush(time.Unix(0, b0+31*sec), true); ps != nil {
		t.Errorf("second forced flush: %v, want nothing", starts(ps))
	}
}

func TestNormalization(t *testing.T) {
	now := t0.UnixNano()
	for _, tc := range []struct {
		name        string
		start, dur  int64
		bucketStart int64
		duration    uint64
	}{
		{"negative duration", now - sec, -5, b0, 0},
		{"overflowing duration", now - sec, math.MaxInt64, b0, 0},
		{"start before 2000: now minus the duration", 5, 2 * sec, b0, uint64(2 * sec)},
		// The sum is a float64, as in the Agent: 19 digits do not survive.
		{"start before 2000, longer than now: now", 5, now + 1, b0, uint64(float64(now + 1))},
		{"negative start: the overflow check drops the duration, as in the Agent", -1, sec, b0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := testConcentrator(t, Config{}, t0)
			s := with(base(), func(s *Span) { s.Start, s.Duration = tc.start, tc.dur })
			c.Add(&s)
			ps := c.Flush(t0.Add(time.Hour), true)
			if len(ps) != 1 {
				t.Fatalf("payloads %+v", ps)
			}
			b := ps[0].Buckets[0]
			if int64(b.Start) != tc.bucketStart || b.Groups[0].Duration != tc.duration {
				t.Errorf("bucket %+d s, duration %d; want %+d s, %d", (int64(b.Start)-b0)/sec, b.Groups[0].Duration, (tc.bucketStart-b0)/sec, tc.duration)
			}
		})
	}
}

func TestWeights(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		ok   bool
		want float64
	}{
		{0.5, true, 2}, {0.1, true, 10}, {0.25, true, 4}, {1, true, 1},
		{0, true, 1}, {-1, true, 1}, {1.5, true, 1}, {math.NaN(), true, 1}, {0.5, false, 1},
	} {
		if got := Weight(tc.rate, tc.ok); got != tc.want {
			t.Errorf("Weight(%v, %v) = %v, want %v", tc.rate, tc.ok, got, tc.want)
		}
	}
	c, _ := testConcentrator(t, Config{}, t0)
	for i, w := range []float64{4, 4, 4, 0, math.NaN(), math.Inf(1), 0.5, -3} {
		s := with(base(), func(s *Span) { s.Weight, s.Error, s.TopLevel = w, i == 0, i != 1 })
		c.Add(&s)
	}
	// Three spans of weight 4 (one error, one not top-level), five of
	// weight 1 (the fallback).
	want := baseGroup(17)
	want.Errors, want.TopLevelHits = 4, 13
	got := allGroups(t, c)
	if len(got) != 1 {
		t.Fatalf("groups %+v", got)
	}
	if diff := cmp.Diff(want, got[0], noSketches); diff != "" {
		t.Errorf("group (-want +got):\n%s", diff)
	}
	// The sketches count spans, not weights.
	if n := decodeSketch(t, got[0].OkSummary).GetCount(); n != 7 {
		t.Errorf("ok summary counts %v, want 7", n)
	}
	if n := decodeSketch(t, got[0].ErrorSummary).GetCount(); n != 1 {
		t.Errorf("error summary counts %v, want 1", n)
	}
}

func TestRound(t *testing.T) {
	if round(3) != 3 || round(0) != 0 {
		t.Error("an integer must round to itself")
	}
	// Stochastic: 1.25 rounds up a quarter of the time. 20000 draws put
	// the mean within 0.02 of 1.25 but for one chance in millions.
	var sum uint64
	for range 20000 {
		v := round(1.25)
		if v != 1 && v != 2 {
			t.Fatalf("round(1.25) = %d", v)
		}
		sum += v
	}
	if mean := float64(sum) / 20000; math.Abs(mean-1.25) > 0.02 {
		t.Errorf("mean of round(1.25) = %v, want 1.25", mean)
	}
}

func decodeSketch(t *testing.T, b []byte) *ddsketch.DDSketch {
	t.Helper()
	var pb sketchpb.DDSketch
	if err := proto.Unmarshal(b, &pb); err != nil {
		t.Fatalf("summary: %v", err)
	}
	s, err := ddsketch.FromProto(&pb)
	if err != nil {
		t.Fatalf("summary: %v", err)
	}
	return s
}

func TestSketches(t *testing.T) {
	c, _ := testConcentrator(t, Config{}, t0)
	// 1000 spans of 1 ms to 1000 ms, and 10 errors of 5 s.
	for i := 1; i <= 1000; i++ {
		s := with(base(), func(s *Span) { s.Start, s.Duration = t0.UnixNano()-2*sec, int64(i)*int64(time.Millisecond) })
		c.Add(&s)
	}
	for range 10 {
		s := with(base(), func(s *Span) { s.Start, s.Duration, s.Error = t0.UnixNano()-6*sec, 5*sec, true })
		c.Add(&s)
	}
	g := allGroups(t, c)
	if len(g) != 1 {
		t.Fatalf("groups %+v", g)
	}
	ok, errs := decodeSketch(t, g[0].OkSummary), decodeSketch(t, g[0].ErrorSummary)
	if ok.GetCount() != 1000 || errs.GetCount() != 10 {
		t.Fatalf("counts %v and %v, want 1000 and 10", ok.GetCount(), errs.GetCount())
	}
	// The sketch's accuracy is 1%, the mantissa masking adds up to 1/1024.
	const accuracy = 0.01 + 1.0/1024
	for _, q := range []struct{ q, want float64 }{{0.5, 500e6}, {0.95, 950e6}, {0.99, 990e6}, {0, 1e6}, {1, 1000e6}} {
		got, err := ok.GetValueAtQuantile(q.q)
		if err != nil || math.Abs(got-q.want)/q.want > accuracy {
			t.Errorf("p%v = %v (%v), want %v within %.2f%%", q.q*100, got, err, q.want, accuracy*100)
		}
	}
	if got, _ := errs.GetValueAtQuantile(0.5); math.Abs(got-5e9)/5e9 > accuracy {
		t.Errorf("error p50 = %v, want 5e9", got)
	}
	// The Agent's mapping: logarithmic, gamma (1+0.01)/(1-0.01), no offset.
	var pb sketchpb.DDSketch
	if err := proto.Unmarshal(g[0].OkSummary, &pb); err != nil {
		t.Fatal(err)
	}
	if m := pb.Mapping; m.Interpolation != sketchpb.IndexMapping_NONE || math.Abs(m.Gamma-1.01/0.99) > 1e-12 || m.IndexOffset != 0 {
		t.Errorf("mapping %v", m)
	}
}

func TestSketchBins(t *testing.T) {
	c, _ := testConcentrator(t, Config{}, t0)
	// Durations from 1 ns to 250 years, 2% apart: more than 2048 bins.
	for d := 1.0; d < 8e18; d *= 1.02 {
		s := with(base(), func(s *Span) { s.Start, s.Duration = year2000, int64(d) })
		c.Add(&s)
	}
	var pb sketchpb.DDSketch
	if err := proto.Unmarshal(allGroups(t, c)[0].OkSummary, &pb); err != nil {
		t.Fatal(err)
	}
	if n := len(pb.PositiveValues.GetContiguousBinCounts()) + len(pb.PositiveValues.GetBinCounts()); n != 2048 {
		t.Errorf("%d bins, want at most 2048 (the lowest collapsed)", n)
	}
}

func TestSketchValue(t *testing.T) {
	for _, d := range []int64{0, 1, 1023, 1024, 1025, 123_456_789, 1 << 40, math.MaxInt64} {
		v := sketchValue(d)
		if v > float64(d) || (d > 0 && (float64(d)-v)/float64(d) > 1.0/1024) {
			t.Errorf("sketchValue(%d) = %v, more than 1/1024 below", d, v)
		}
		if b := math.Float64bits(v); b&^0xfffff80000000000 != 0 {
			t.Errorf("sketchValue(%d) keeps more than 10 bits of mantissa", d)
		}
	}
}

func TestMaxGroups(t *testing.T) {
	c, _ := testConcentrator(t, Config{MaxGroups: 3}, t0)
	for _, r := range []string{"a", "b", "c", "d", "e", "a"} {
		s := with(base(), func(s *Span) { s.Resource = r })
		c.Add(&s)
	}
	other := with(base(), func(s *Span) { s.Resource, s.Env, s.Error = "f", "staging", true })
	c.Add(&other)
	got := allGroups(t, c)
	collapsed := Group{
		Service: BlockedValue, Name: BlockedValue, Resource: BlockedValue, Type: BlockedValue, SpanKind: BlockedValue,
		PeerTags: []string{BlockedValue}, ServiceSource: BlockedValue, HTTPMethod: BlockedValue, HTTPEndpoint: BlockedValue,
		AdditionalMetricTags: []string{BlockedValue},
		Hits:                 2, TopLevelHits: 2, Duration: 2 * uint64(sec),
	}
	withRes := func(r string, n uint64) Group { g := baseGroup(n); g.Resource = r; return g }
	stagingCollapsed := collapsed
	stagingCollapsed.Hits, stagingCollapsed.TopLevelHits, stagingCollapsed.Errors, stagingCollapsed.Duration = 1, 1, 1, uint64(sec)
	want := []Group{withRes("a", 2), withRes("b", 1), withRes("c", 1), collapsed, stagingCollapsed}
	if diff := cmp.Diff(want, got, noSketches); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

func TestInvalidUTF8(t *testing.T) {
	c, _ := testConcentrator(t, Config{Service: "s\xff"}, t0)
	// peer.service would be normalized (TestPeerServicesNormalized).
	keys := NewPeerTagKeys([]string{"db.instance"})
	s := with(base(), func(s *Span) {
		s.Service, s.SpanKind, s.Env = "a\xffb", "client", "e\xfe"
		s.PeerTagKeys, s.PeerTagValues = keys, []string{"db\xff\xff"}
	})
	c.Add(&s)
	ps := c.Flush(t0.Add(time.Hour), true)
	g := ps[0].Buckets[0].Groups[0]
	if g.Service != "a\uFFFDb" || ps[0].Env != "e\uFFFD" || ps[0].Service != "s\uFFFD" ||
		!cmp.Equal(g.PeerTags, []string{"db.instance:db\uFFFD\uFFFD"}) {
		t.Errorf("not repaired: %q %q %q %q", g.Service, ps[0].Env, ps[0].Service, g.PeerTags)
	}
}

func TestKeepsNothingOfTheSpan(t *testing.T) {
	c, _ := testConcentrator(t, Config{}, t0)
	// Strings over buffers the caller reuses, as an exporter writing into
	// scratch memory would pass them.
	view := func(b []byte) string { return unsafe.String(&b[0], len(b)) }
	res, code, peer := []byte("GET /cart"), []byte("14"), []byte("db")
	keys := NewPeerTagKeys([]string{"peer.service"})
	s := with(base(), func(s *Span) {
		s.Resource, s.GRPCStatusCode, s.SpanKind = view(res), view(code), "client"
		s.PeerTagKeys, s.PeerTagValues = keys, []string{view(peer)}
	})
	c.Add(&s)
	copy(res, "XXXXXXXXX")
	copy(code, "99")
	copy(peer, "zz")
	g := allGroups(t, c)
	if len(g) != 1 || g[0].Resource != "GET /cart" || g[0].GRPCStatusCode != "14" || !cmp.Equal(g[0].PeerTags, []string{"peer.service:db"}) {
		t.Errorf("groups %+v, want one of GET /cart, gRPC code 14, peer.service:db", g)
	}
}

func TestConcurrentAdd(t *testing.T) {
	c, clock := testConcentrator(t, Config{}, t0)
	keys := NewPeerTagKeys([]string{"peer.hostname", "peer.service"})
	spans := []Span{
		base(),
		with(base(), func(s *Span) { s.Resource, s.Error = "POST /pay", true }),
		with(base(), func(s *Span) {
			s.SpanKind, s.TopLevel, s.PeerTagKeys, s.PeerTagValues = "client", false, keys, []string{"10.0.0.1:5432", "db"}
		}),
		with(base(), func(s *Span) { s.SpanKind, s.TopLevel = "internal", false }), // not counted
	}
	const workers, per = 4, 3000
	var wg sync.WaitGroup
	var flushed sync.Mutex
	var payloads []Payload
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // flushes as time goes by
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			now := clock.Add(sec / 10)
			ps := c.Flush(time.Unix(0, now), false)
			flushed.Lock()
			payloads = append(payloads, ps...)
			flushed.Unlock()
		}
	}()
	var adders sync.WaitGroup
	for w := range workers {
		adders.Add(1)
		go func() {
			defer adders.Done()
			for i := range per {
				s := spans[(w+i)%len(spans)]
				end := clock.Load()
				s.Start, s.Duration = end-int64(i), int64(i)
				c.Add(&s)
			}
		}()
	}
	adders.Wait()
	close(stop)
	wg.Wait()
	payloads = append(payloads, c.Flush(time.Unix(0, clock.Load()), true)...)
	var hits, errs, n uint64
	for _, p := range payloads {
		for _, b := range p.Buckets {
			for _, g := range b.Groups {
				hits += g.Hits
				errs += g.Errors
				n += uint64(decodeSketch(t, g.OkSummary).GetCount() + decodeSketch(t, g.ErrorSummary).GetCount())
			}
		}
	}
	if want := uint64(workers * per * 3 / 4); hits != want || n != want {
		t.Errorf("%d hits and %d sketched, want %d", hits, n, want)
	}
	if want := uint64(workers * per / 4); errs != want {
		t.Errorf("%d errors, want %d", errs, want)
	}
}

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	now := time.Now()
	c := mustNew(t, Config{}, now)
	spans := benchSpans(now)
	long := with(spans[1], func(s *Span) { s.Resource = strings.Repeat("SELECT 1; ", 500) })
	list := with(spans[2], func(s *Span) {
		s.PeerTagValues = []string{"", "", "", "", strings.Repeat("10.1.2.3:9092,", 100) + "kafka", "", ""}
	})
	grpc := with(spans[0], func(s *Span) { s.GRPCStatusCode = "StatusCode.DeadlineExceeded" })
	spans = append(spans, long, list, grpc)
	for i := range spans {
		c.Add(&spans[i]) // new groups allocate; then steady state
	}
	for i := range spans {
		if n := testing.AllocsPerRun(200, func() { c.Add(&spans[i]) }); n != 0 {
			t.Errorf("span %d (%s %s): %v allocations per Add, want 0", i, spans[i].SpanKind, spans[i].Resource[:min(20, len(spans[i].Resource))], n)
		}
	}
}

// TestPeerServicesNormalized: the values of peer.service and
// _dd.base_service are normalized as services, as the Agent's normalizer
// does before its concentrator reads them; other peer tags are not.
func TestPeerServicesNormalized(t *testing.T) {
	keys := NewPeerTagKeys([]string{"_dd.base_service", "db.instance", "peer.service"})
	long := strings.Repeat("é", 60) // 120 bytes: cut at 100, on a rune
	for _, tc := range []struct {
		name, kind, base string
		values           []string
		want             []string
	}{
		{"client", "client", "", []string{"Shop Core!", "Carts DB", "Payments API"},
			[]string{"_dd.base_service:shop_core", "db.instance:Carts DB", "peer.service:payments_api"}},
		{"invalid disappears", "producer", "", []string{"", "", "!!!"}, nil},
		{"invalid UTF-8", "client", "", []string{"", "", "a\xffb"}, []string{"peer.service:a_b"}},
		{"long", "consumer", "", []string{"", "", long}, []string{"peer.service:" + strings.Repeat("é", 50)}},
		{"internal base service", "internal", "Shop Core!", nil, []string{"_dd.base_service:shop_core"}},
		{"no kind, invalid base service", "", "!!", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := testConcentrator(t, Config{}, t0)
			s := with(base(), func(s *Span) {
				s.SpanKind, s.BaseService, s.Measured = tc.kind, tc.base, true
				s.PeerTagKeys, s.PeerTagValues = keys, tc.values
			})
			c.Add(&s)
			got := allGroups(t, c)
			if len(got) != 1 {
				t.Fatalf("%d groups, want 1", len(got))
			}
			if diff := cmp.Diff(tc.want, got[0].PeerTags); diff != "" {
				t.Errorf("peer tags (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHugeValuesCut: a type over 100 bytes and a peer tag value over 25,000
// bytes are cut as the Agent cuts them before its concentrator reads them.
func TestHugeValuesCut(t *testing.T) {
	c, _ := testConcentrator(t, Config{}, t0)
	keys := NewPeerTagKeys([]string{"db.instance"})
	s := with(base(), func(s *Span) {
		s.SpanKind, s.Type = "client", strings.Repeat("wé", 50) // 150 bytes
		s.PeerTagKeys, s.PeerTagValues = keys, []string{strings.Repeat("é", 13000)}
	})
	c.Add(&s)
	got := allGroups(t, c)
	if len(got) != 1 {
		t.Fatalf("%d groups, want 1", len(got))
	}
	if want := strings.Repeat("wé", 33) + "w"; got[0].Type != want {
		t.Errorf("type %q, want %q", got[0].Type, want)
	}
	if want := []string{"db.instance:" + strings.Repeat("é", 12500) + "..."}; !cmp.Equal(want, got[0].PeerTags) {
		t.Errorf("peer tag of %d bytes, want %d", len(strings.Join(got[0].PeerTags, "")), len(want[0]))
	}
}
