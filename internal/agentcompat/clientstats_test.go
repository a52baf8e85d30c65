package agentcompat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/pb/sketchpb"
	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/internal/stats"
	"google.golang.org/protobuf/proto"
)

// The proof of the client-side stats concentrator (internal/stats) against
// the Agent's own: the same spans are (a) sent as v0.4 traces without
// client stats, so that the Agent's concentrator computes their stats, and
// (b) fed to our concentrator, whose payloads go to the Agent's
// /v0.6/stats and through its client stats aggregator. Both must give the
// same hits, errors, top-level hits and duration sums for every key, and
// the same latency distributions.

// statsChunk is one chunk of the stats corpus in the Agent's span model.
type statsChunk []*pb.Span

// statsCorpus returns two requests' chunks (env prod and env staging),
// every span ending by end. It covers the span kinds, errors, peer tags
// (IP addresses among them), sample rates, the synthetics origin, gRPC
// codes, partial snapshots, remote parents, several services and resources,
// and enough durations for the sketches to matter.
func statsCorpus(end time.Time) (prod, staging []statsChunk) {
	id := uint64(1000)
	next := func() uint64 { id++; return id }
	type opt func(*pb.Span)
	meta := func(kv ...string) opt {
		return func(s *pb.Span) {
			for i := 0; i < len(kv); i += 2 {
				s.Meta[kv[i]] = kv[i+1]
			}
		}
	}
	metric := func(k string, v float64) opt { return func(s *pb.Span) { s.Metrics[k] = v } }
	errored := func(s *pb.Span) { s.Error = 1 }
	topLevel := metric("_dd.top_level", 1)
	measured := metric("_dd.measured", 1)
	var chunk statsChunk
	var traceID uint64
	var env, version, origin string
	var rate float64
	span := func(parent uint64, service, name, resource, typ, kind string, dur time.Duration, opts ...opt) uint64 {
		s := &pb.Span{
			Service: service, Name: name, Resource: resource, Type: typ,
			TraceID: traceID, SpanID: next(), ParentID: parent,
			Start: end.Add(-dur - time.Duration(len(chunk))*time.Millisecond).UnixNano(), Duration: int64(dur),
			Meta:    map[string]string{"env": env, "version": version, "span.kind": kind},
			Metrics: map[string]float64{},
		}
		if rate != 0 {
			s.Metrics["_sample_rate"] = rate
		}
		if origin != "" {
			s.Meta["_dd.origin"] = origin
		}
		for _, o := range opts {
			o(s)
		}
		chunk = append(chunk, s)
		return s.SpanID
	}
	start := func(priority float64, r float64, o string) {
		chunk, traceID, rate, origin = nil, next(), r, o
		_ = priority
	}
	done := func(to *[]statsChunk, priority float64) {
		chunk[0].Metrics["_sampling_priority_v1"] = priority
		*to = append(*to, chunk)
	}

	env, version = "prod", "1.4.2"
	// A checkout: server root, HTTP and database clients with peer tags,
	// an internal span (not counted), an internal measured span of another
	// base service, and an uppercase service the Agent normalizes.
	start(1, 0, "")
	root := span(0, "shop", "http.server.request", "GET /cart/{id}", "web", "server", 120*time.Millisecond, topLevel,
		metric("http.status_code", 200), meta("http.method", "GET", "http.endpoint", "/cart/{id}", "_dd.svc_src", "opt.service"))
	span(root, "shop", "http.client.request", "POST", "http", "client", 40*time.Millisecond, measured, errored,
		metric("http.status_code", 502), meta("peer.service", "payments", "peer.hostname", "10.2.3.4", "server.address", "payments.internal"))
	span(root, "shop", "postgresql.query", "SELECT * FROM carts WHERE id = 42", "sql", "client", 3*time.Millisecond, measured,
		meta("db.system", "postgresql", "db.instance", "carts", "out.host", "db-1.internal:5432"))
	span(root, "shop", "render", "render", "custom", "internal", time.Millisecond)
	span(root, "shop-core", "price", "price", "custom", "internal", 2*time.Millisecond, measured, meta("_dd.base_service", "shop"))
	span(root, "Shop-API", "http.server.request", "GET /health", "web", "server", time.Millisecond, topLevel)
	done(&prod, 1)

	// A priority-0 gRPC trace kept at 25%: weight 4. A NOT_FOUND server
	// error, a consumer of another service, a client with a gRPC code metric.
	start(0, 0.25, "")
	root = span(0, "catalog", "grpc.server.request", "catalog.Items/Get", "rpc", "server", 15*time.Millisecond, topLevel, errored,
		meta("rpc.grpc.status_code", "NOT_FOUND"))
	span(root, "catalog-worker", "kafka.consume", "consume items", "queue", "consumer", 5*time.Millisecond, topLevel,
		meta("messaging.system", "kafka", "messaging.destination.name", "items", "messaging.kafka.bootstrap.servers", "10.0.0.1:9092,10.0.0.2:9092,kafka-3:9092"))
	span(root, "catalog", "grpc.client.request", "stock.Stock/Check", "rpc", "client", 4*time.Millisecond, measured,
		metric("grpc.code", 14), meta("rpc.service", "stock.Stock", "peer.service", "stock"))
	done(&prod, 0)

	// Synthetics traffic, and a producer whose trace is kept at 10%.
	start(1, 0, "synthetics-browser")
	span(0, "shop", "http.server.request", "GET /cart/{id}", "web", "server", 80*time.Millisecond, topLevel,
		metric("http.status_code", 200), meta("http.method", "GET", "http.endpoint", "/cart/{id}"))
	done(&prod, 1)
	start(1, 0.1, "")
	span(0, "mailer", "kafka.produce", "produce mails", "queue", "producer", 2*time.Millisecond, topLevel,
		meta("messaging.system", "kafka", "peer.service", "mail-queue", "network.destination.ip", "fe80::1"))
	done(&prod, 1)

	// A partial snapshot (not counted) and a server under a remote parent
	// (not the trace root), with a meta status code.
	start(1, 0, "")
	span(0, "batch", "job", "nightly", "worker", "server", time.Second, topLevel, metric("_dd.partial_version", 2))
	done(&prod, 1)
	start(1, 0, "")
	span(77, "shop", "http.server.request", "POST /pay", "web", "server", 30*time.Millisecond, topLevel,
		meta("http.status_code", "404", "http.method", "POST"))
	done(&prod, 1)

	// Many requests of one endpoint, kept at 50% (weight 2), with errors:
	// durations from 1 ms to 500 ms for the sketches.
	for i := 1; i <= 250; i++ {
		start(1, 0.5, "")
		var opts []opt
		opts = append(opts, topLevel, metric("http.status_code", 200), meta("http.method", "GET"))
		if i%10 == 0 {
			opts = append(opts, errored, metric("http.status_code", 500))
		}
		span(0, "shop", "http.server.request", "GET /items", "web", "server", time.Duration(i*2)*time.Millisecond, opts...)
		done(&prod, 1)
	}

	env, version = "staging", "2.0.0"
	start(1, 0, "")
	root = span(0, "shop", "http.server.request", "GET /cart/{id}", "web", "server", 90*time.Millisecond, topLevel,
		metric("http.status_code", 200))
	span(root, "shop", "redis.command", "GET cart:1", "redis", "client", time.Millisecond, measured,
		meta("db.system", "redis", "out.host", "127.0.0.1"))
	done(&staging, 1)
	return prod, staging
}

// statsSpan is what the exporter would give our concentrator for s, read
// as the Agent reads the span: the test stands in for ddexport's mapping.
func statsSpan(s *pb.Span, chunk statsChunk, keys *stats.PeerTagKeys) *stats.Span {
	inChunk := map[uint64]bool{}
	for _, c := range chunk {
		inChunk[c.SpanID] = true
	}
	var rate float64
	var hasRate bool
	for _, c := range chunk { // the chunk's root
		if c.ParentID == 0 || !inChunk[c.ParentID] {
			rate, hasRate = c.Metrics["_sample_rate"]
		}
	}
	m := s.Metrics
	out := &stats.Span{
		Service: s.Service, Name: s.Name, Resource: s.Resource, Type: s.Type,
		SpanKind:      s.Meta["span.kind"],
		HTTPMethod:    s.Meta["http.method"],
		HTTPEndpoint:  s.Meta["http.endpoint"],
		ServiceSource: s.Meta["_dd.svc_src"],
		BaseService:   s.Meta["_dd.base_service"],
		Origin:        s.Meta["_dd.origin"],
		Env:           s.Meta["env"],
		Version:       s.Meta["version"],
		Start:         s.Start, Duration: s.Duration,
		Error:           s.Error != 0,
		TraceRoot:       s.ParentID == 0,
		TopLevel:        m["_dd.top_level"] == 1 || m["_top_level"] == 1,
		Measured:        m["_dd.measured"] == 1,
		Weight:          stats.Weight(rate, hasRate),
		PeerTagKeys:     keys,
		PeerTagValues:   make([]string, keys.Len()),
		HTTPStatusCode:  httpStatusCode(s),
		GRPCStatusCode:  grpcStatusCode(s),
		PartialSnapshot: false,
	}
	if v, ok := m["_dd.partial_version"]; ok && v >= 0 {
		out.PartialSnapshot = true
	}
	for i := range out.PeerTagValues {
		out.PeerTagValues[i] = s.Meta[keys.Key(i)]
	}
	return out
}

// httpStatusCode reads the code as the Agent does: an integer metric, else
// the meta (which it removes when outside 100–599).
func httpStatusCode(s *pb.Span) uint32 {
	if v, ok := s.Metrics["http.status_code"]; ok && v == math.Trunc(v) && v >= 0 && v <= math.MaxUint32 {
		return uint32(v)
	}
	if v, err := strconv.ParseUint(s.Meta["http.status_code"], 10, 32); err == nil && v >= 100 && v < 600 {
		return uint32(v)
	}
	return 0
}

// grpcStatusCode finds the raw code as the Agent's lookup does: meta, then
// integer metric, of each key in turn.
func grpcStatusCode(s *pb.Span) string {
	for _, k := range []string{"rpc.grpc.status_code", "grpc.code", "rpc.grpc.status.code", "grpc.status.code"} {
		if v := s.Meta[k]; v != "" {
			return v
		}
		if v, ok := s.Metrics[k]; ok && v == math.Trunc(v) {
			return stats.GRPCStatusCodeFromInt(int64(v))
		}
	}
	return ""
}

// statsKey is an aggregation key as both paths report it: the payload's
// env, version and language, and the group's BucketsAggregationKey without
// the HTTP method and endpoint (which only tracers report).
type statsKey struct {
	Env, Version, Lang                      string
	Service, Name, Resource, Type, SpanKind string
	HTTPStatusCode                          uint32
	Synthetics                              bool
	PeerTags, ServiceSource, GRPCStatusCode string
	IsTraceRoot                             int32
}

type statsValue struct {
	Hits, Errors, TopLevelHits, Duration uint64
	ok, err                              *ddsketch.DDSketch
}

// byKey sums the stats of every bucket by key, merging the sketches.
func byKey(t *testing.T, payloads []*pb.StatsPayload) map[statsKey]*statsValue {
	t.Helper()
	out := map[statsKey]*statsValue{}
	for _, sp := range payloads {
		for _, p := range sp.Stats {
			for _, b := range p.Stats {
				for _, g := range b.Stats {
					tags := append([]string(nil), g.PeerTags...)
					sort.Strings(tags)
					k := statsKey{
						Env: p.Env, Version: p.Version, Lang: p.Lang,
						Service: g.Service, Name: g.Name, Resource: g.Resource, Type: g.Type, SpanKind: g.SpanKind,
						HTTPStatusCode: g.HTTPStatusCode, Synthetics: g.Synthetics, PeerTags: strings.Join(tags, ","),
						ServiceSource: g.ServiceSource, GRPCStatusCode: g.GRPCStatusCode, IsTraceRoot: int32(g.IsTraceRoot),
					}
					v := out[k]
					if v == nil {
						v = &statsValue{}
						out[k] = v
					}
					v.Hits += g.Hits
					v.Errors += g.Errors
					v.TopLevelHits += g.TopLevelHits
					v.Duration += g.Duration
					v.ok = mergeSketch(t, v.ok, g.OkSummary)
					v.err = mergeSketch(t, v.err, g.ErrorSummary)
				}
			}
		}
	}
	return out
}

func mergeSketch(t *testing.T, into *ddsketch.DDSketch, b []byte) *ddsketch.DDSketch {
	t.Helper()
	var msg sketchpb.DDSketch
	if err := proto.Unmarshal(b, &msg); err != nil {
		t.Fatalf("summary: %v", err)
	}
	s, err := ddsketch.FromProto(&msg)
	if err != nil {
		t.Fatalf("summary: %v", err)
	}
	if into == nil {
		return s
	}
	if err := into.MergeWith(s); err != nil {
		t.Fatalf("summary: %v", err)
	}
	return into
}

// postTraces sends chunks as one v0.4 payload, as a tracer that leaves the
// stats to the Agent: no Datadog-Client-Computed-Stats.
func postTraces(t *testing.T, ra *realAgent, chunks []statsChunk) {
	t.Helper()
	traces := make(pb.Traces, len(chunks))
	for i, c := range chunks {
		traces[i] = pb.Trace(c)
	}
	body, err := traces.MarshalMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	post(t, ra.URL()+"/v0.4/traces", body, map[string]string{
		"X-Datadog-Trace-Count":             strconv.Itoa(len(chunks)),
		"Datadog-Client-Computed-Top-Level": "yes",
	})
}

func post(t *testing.T, url string, body []byte, headers map[string]string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/msgpack")
	req.Header.Set("Datadog-Meta-Lang", "go")
	req.Header.Set("Datadog-Meta-Lang-Version", "1.26")
	req.Header.Set("Datadog-Meta-Tracer-Version", "test")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: status %d", url, resp.StatusCode)
	}
}

// infoPeerTags reads the peer tag keys of the Agent's /info, as the
// exporter does.
func infoPeerTags(t *testing.T, ra *realAgent) []string {
	t.Helper()
	resp, err := http.Get(ra.URL() + "/info")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		PeerTags []string `json:"peer_tags"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatalf("/info: %v", err)
	}
	if len(info.PeerTags) == 0 {
		t.Fatal("/info lists no peer tags")
	}
	return info.PeerTags
}

func TestClientStatsMatchAgent(t *testing.T) {
	ra := newRealAgent(t, agentOptions{spanEvents: true, convertV1: true})
	keys := stats.NewPeerTagKeys(infoPeerTags(t, ra))
	prod, staging := statsCorpus(time.Now().Add(-time.Second))

	// (b) Our concentrator, its payloads to /v0.6/stats.
	c, err := stats.New(stats.Config{Service: "shop", RuntimeID: "agentcompat"}, ra.statsStart)
	if err != nil {
		t.Fatal(err)
	}
	spans := 0
	for _, chunk := range append(append([]statsChunk(nil), prod...), staging...) {
		for _, s := range chunk {
			c.Add(statsSpan(s, chunk, keys))
			spans++
		}
	}
	payloads := c.Flush(time.Now(), true)
	if len(payloads) != 2 {
		t.Fatalf("%d payloads, want 2 (prod and staging)", len(payloads))
	}
	for _, p := range payloads {
		post(t, ra.URL()+"/v0.6/stats", p.AppendMsgpack(nil), nil)
	}
	client := ra.clientStatsOutput(t)

	// (a) The same spans as traces, the Agent computing their stats.
	postTraces(t, ra, prod)
	postTraces(t, ra, staging)
	ra.concentrator.waitTraces(t, len(prod)+len(staging))
	agentStats := ra.concentrator.Flush(true)

	got, want := byKey(t, client), byKey(t, []*pb.StatsPayload{agentStats})
	for _, sp := range client {
		if !sp.ClientComputed {
			t.Error("the aggregator's output is not marked client-computed")
		}
	}
	checkCoverage(t, want)
	compareStats(t, want, got)
	// The HTTP method and endpoint, which only tracers report, went through.
	var methods []string
	for _, sp := range client {
		for _, p := range sp.Stats {
			for _, b := range p.Stats {
				for _, g := range b.Stats {
					if g.HTTPMethod != "" {
						methods = append(methods, g.Resource+" "+g.HTTPMethod+" "+g.HTTPEndpoint)
					}
				}
			}
		}
	}
	sort.Strings(methods)
	methods = compactStrings(methods)
	wantMethods := []string{"GET /cart/{id} GET /cart/{id}", "GET /items GET ", "POST /pay POST "}
	if diff := cmp.Diff(wantMethods, methods); diff != "" {
		t.Errorf("HTTP methods and endpoints (-want +got):\n%s", diff)
	}
	t.Logf("%d spans, %d keys: identical counts and sketches", spans, len(want))
}

func compactStrings(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// checkCoverage fails the test if the corpus no longer exercises what the
// comparison is meant to prove.
func checkCoverage(t *testing.T, want map[statsKey]*statsValue) {
	t.Helper()
	has := map[string]bool{}
	for k, v := range want {
		has["env "+k.Env] = true
		has["kind "+k.SpanKind] = true
		has["base service peer tag"] = has["base service peer tag"] || strings.HasPrefix(k.PeerTags, "_dd.base_service:")
		has["quantized peer tag"] = has["quantized peer tag"] || strings.Contains(k.PeerTags, "blocked-ip-address")
		has["synthetics"] = has["synthetics"] || k.Synthetics
		has["gRPC code"] = has["gRPC code"] || k.GRPCStatusCode != ""
		has["not the trace root"] = has["not the trace root"] || k.IsTraceRoot == int32(pb.Trilean_FALSE)
		has["errors"] = has["errors"] || v.Errors > 0
		has["weighted"] = has["weighted"] || float64(v.Hits) > v.ok.GetCount()+v.err.GetCount()
		has["sql obfuscated"] = has["sql obfuscated"] || k.Resource == "SELECT * FROM carts WHERE id = ?"
		has["service normalized"] = has["service normalized"] || k.Service == "shop-api"
		has["internal spans"] = has["internal spans"] || k.SpanKind == "internal"
		has["partial snapshot"] = has["partial snapshot"] || k.Service == "batch"
	}
	for _, need := range []string{"env prod", "env staging", "kind server", "kind client", "kind producer", "kind consumer",
		"base service peer tag", "quantized peer tag", "synthetics", "gRPC code", "not the trace root", "errors", "weighted",
		"sql obfuscated", "service normalized", "internal spans"} {
		if !has[need] {
			t.Errorf("the corpus does not exercise: %s", need)
		}
	}
	if has["partial snapshot"] {
		t.Error("a partial snapshot was counted")
	}
}

// compareStats fails the test unless got (client stats) has the keys of
// want (the Agent's own stats) and, for each, the same hits, errors,
// top-level hits and duration sums, and the same sketch counts with p50,
// p95 and p99 within the sketch's 1 % accuracy.
func compareStats(t *testing.T, want, got map[statsKey]*statsValue) {
	t.Helper()
	var gotKeys, wantKeys []string
	for k := range got {
		gotKeys = append(gotKeys, fmt.Sprintf("%+v", k))
	}
	for k := range want {
		wantKeys = append(wantKeys, fmt.Sprintf("%+v", k))
	}
	sort.Strings(gotKeys)
	sort.Strings(wantKeys)
	if diff := cmp.Diff(wantKeys, gotKeys); diff != "" {
		t.Fatalf("keys (-Agent's concentrator +client stats):\n%s", diff)
	}
	for k, w := range want {
		g := got[k]
		counts := func(v *statsValue) [4]uint64 { return [4]uint64{v.Hits, v.Errors, v.TopLevelHits, v.Duration} }
		if diff := cmp.Diff(counts(w), counts(g)); diff != "" {
			t.Errorf("%+v: hits, errors, top-level hits, duration (-Agent +client):\n%s", k, diff)
		}
		for _, s := range []struct {
			name string
			a, c *ddsketch.DDSketch
		}{{"ok", w.ok, g.ok}, {"error", w.err, g.err}} {
			if s.a.GetCount() != s.c.GetCount() {
				t.Errorf("%+v: %s sketch counts %v, Agent %v", k, s.name, s.c.GetCount(), s.a.GetCount())
				continue
			}
			if s.a.IsEmpty() {
				continue
			}
			for _, q := range []float64{0.5, 0.95, 0.99} {
				av, _ := s.a.GetValueAtQuantile(q)
				cv, _ := s.c.GetValueAtQuantile(q)
				if math.Abs(av-cv) > 0.01*av {
					t.Errorf("%+v: %s p%v %v, Agent %v: beyond 1%%", k, s.name, q*100, cv, av)
				}
			}
		}
	}
}
