package agentcompat

import (
	"context"
	"encoding/binary"
	"maps"
	"math"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddsample"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// presetIDs is an ID generator whose next trace ID a test may choose (the
// Knuth hash of its low half decides an Agent-rate sampling), counting
// otherwise.
type presetIDs struct {
	mu   sync.Mutex
	next []uint64 // low halves of the next trace IDs
	n    uint64
}

func (g *presetIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	low := 0xd0000000 + g.n
	if len(g.next) > 0 {
		low, g.next = g.next[0], g.next[1:]
	}
	var tid trace.TraceID
	binary.BigEndian.PutUint64(tid[:8], 0x6553e4fd_00000000+g.n)
	binary.BigEndian.PutUint64(tid[8:], low)
	return tid, spanID(0xe0000000 + g.n<<8)
}

func (g *presetIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return spanID(0xe0000000 + g.n<<8)
}

// preset makes low the low half of the next trace ID.
func (g *presetIDs) preset(low uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.next = append(g.next, low)
}

// knuthLow returns the first low trace ID half from 1 that Datadog's
// Knuth test keeps (or drops) at rate: low × 1111111111111111111 (wrapping
// at 64 bits) not above rate × 2^64, as Datadog's tracers compute it.
func knuthLow(t *testing.T, rate float64, keep bool) uint64 {
	t.Helper()
	limit := uint64(rate * math.MaxUint64)
	for low := uint64(1); low < 1_000_000; low++ {
		if (low*1111111111111111111 <= limit) == keep {
			return low
		}
	}
	t.Fatalf("no trace ID kept=%v at rate %v", keep, rate)
	return 0
}

// chunkDecision is what the Agent makes of a chunk's sampling decision:
// the chunk's priority and decision maker as the Agent records them,
// whether its sampling kept the chunk, and the decision's tags on the
// chunk root ("" for absent).
type chunkDecision struct {
	Priority      int32
	ChunkDM       string // the chunk's decision maker (see seenChunk.dm)
	Kept          bool
	PriorityTag   string // _sampling_priority_v1
	DM            string // _dd.p.dm
	KSR           string // _dd.p.ksr
	RulePSR       string // _dd.rule_psr
	AgentPSR      string // _dd.agent_psr
	LimitPSR      string // _dd.limit_psr; "<1" for any value below 1
	AgentRateTag  string // _sampling_priority_rate_v1: the Agent's own rate, when it samples the chunk itself
	DMOnAnySpan   bool   // _dd.p.dm on a span other than the root
	PriorityElsew bool   // _sampling_priority_v1 on a span other than the root
}

func decisionOf(ch seenChunk, kept bool) chunkDecision {
	root := ch.spans[0]
	meta := func(k string) string { v, _ := root.meta(k); return v }
	metric := func(k string) string {
		v, ok := root.metric(k)
		if !ok {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	d := chunkDecision{
		Priority: ch.priority, ChunkDM: ch.dm, Kept: kept,
		PriorityTag: metric("_sampling_priority_v1"), DM: meta("_dd.p.dm"), KSR: meta("_dd.p.ksr"),
		RulePSR: metric("_dd.rule_psr"), AgentPSR: metric("_dd.agent_psr"), LimitPSR: metric("_dd.limit_psr"),
		AgentRateTag: metric("_sampling_priority_rate_v1"),
	}
	if v, ok := root.metric("_dd.limit_psr"); ok && v < 1 {
		d.LimitPSR = "<1"
	}
	for _, s := range ch.spans[1:] {
		if _, ok := s.meta("_dd.p.dm"); ok {
			d.DMOnAnySpan = true
		}
		if _, ok := s.metric("_sampling_priority_v1"); ok {
			d.PriorityElsew = true
		}
	}
	return d
}

// TestDDSampleDecisionsThroughAgent is issue 11's chunk-root tags through
// the real Agent (both receiver paths): traces decided by ddsample, behind
// ddexport.NewSpanProcessor and the exporter, the sampler fed the Agent's
// rate_by_service answers through SubscribeRates. For each decision — the
// Agent's default rate before it answered, a rule keep, a rule drop, a drop
// by the rate limit, a keep by the rate of the Agent's answer, a keep and a
// drop by an Agent rate of 0.5 (given with UpdateRates), a manual keep at
// start (KeepAttribute), a manual keep after start on a child span
// (ManualKeep) of a trace a rule dropped, a manual drop at start — the
// chunk's priority and decision maker as the Agent fills them, the
// decision's tags on the chunk root (_sampling_priority_v1, _dd.p.dm only
// when kept, _dd.p.ksr, _dd.rule_psr / _dd.agent_psr / _dd.limit_psr), and
// that the Agent keeps exactly the chunks of priority > 0, without
// sampling them again (no _sampling_priority_rate_v1 of its own). Every
// chunk reaches the Agent: the dropped ones are read where the Agent
// computes stats.
func TestDDSampleDecisionsThroughAgent(t *testing.T) {
	for _, convertV1 := range []bool{false, true} {
		t.Run(map[bool]string{false: "classic-path", true: "default-path"}[convertV1], func(t *testing.T) {
			testDecisions(t, newRealAgent(t, agentOptions{spanEvents: true, convertV1: convertV1}))
		})
	}
}

func testDecisions(t *testing.T, ra *realAgent) {
	withoutClientStats(t)
	exp, err := ddexport.New(ddexport.WithAgentURL(ra.URL()))
	if err != nil {
		t.Fatal(err)
	}
	// The Agent's answers as the sampler got them: subscribed after it,
	// so called after it for each answer.
	var answersMu sync.Mutex
	var answer map[string]float64
	s, err := ddsample.New(
		ddsample.WithService("store"), ddsample.WithEnv("prod"),
		ddsample.WithRules(
			ddsample.Rule{Resource: "GET /keep", SampleRate: 1},
			ddsample.Rule{Resource: "GET /health", SampleRate: 0},
		),
		// One trace through, then none for a quarter of an hour: the
		// second trace a rule keeps is dropped by the limit.
		ddsample.WithRateLimit(0.001),
		ddsample.WithRateSource(exp),
	)
	if err != nil {
		t.Fatal(err)
	}
	exp.SubscribeRates(func(r map[string]float64) {
		if len(r) > 0 {
			answersMu.Lock()
			answer = maps.Clone(r)
			answersMu.Unlock()
		}
	})
	ids := &presetIDs{}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(s),
		sdktrace.WithSpanProcessor(ddexport.NewSpanProcessor(exp, ddexport.WithPartialFlush(0))),
		sdktrace.WithIDGenerator(ids),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "store"),
			attribute.String("deployment.environment.name", "prod"))),
	)
	tracer := tp.Tracer("agentcompat")
	ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	defer cancel()
	defer func() {
		if err := tp.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}()

	cases := map[uint64]string{} // root span ID → case
	spans := 0
	// request runs a request of the store: a server root named by its
	// route ("GET /keep"), and a child; after, when set, is called with
	// the child's context before it ends.
	request := func(name, route string, after func(context.Context), attrs ...attribute.KeyValue) {
		rctx, root := tracer.Start(context.Background(), "request", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(append([]attribute.KeyValue{attribute.String("http.request.method", "GET"),
				attribute.String("http.route", route)}, attrs...)...))
		cctx, child := tracer.Start(rctx, "render")
		if after != nil {
			after(cctx)
		}
		child.End()
		root.End()
		if name != "" {
			cases[sid64(root.SpanContext().SpanID())] = name
		}
		spans += 2
	}
	flush := func() {
		if err := tp.ForceFlush(ctx); err != nil {
			t.Fatalf("ForceFlush: %v", err)
		}
	}

	// The Agent's default rate, before any answer; then warm-up requests
	// until an answer carries the Agent's rates: its default rate at once,
	// the service's own once its 5-second sampling window has seen them
	// (which this test does not wait for: the sampler applies the default
	// to a service the answer does not name).
	request("agent default rate, no answer yet", "/cart", nil)
	flush()
	for {
		answersMu.Lock()
		got := answer
		answersMu.Unlock()
		if got != nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the Agent's answers carry no rates")
		}
		request("", "/cart", nil)
		flush()
	}
	answersMu.Lock()
	agentRate, ok := answer["service:store,env:prod"]
	if !ok {
		agentRate, ok = answer["service:,env:"]
	}
	answersMu.Unlock()
	if !ok {
		t.Fatalf("the Agent's rates %v have none for service:store,env:prod, nor a default", answer)
	}

	request("rule keep", "/keep", nil)
	request("rule keep, over the rate limit", "/keep", nil)
	request("rule drop", "/health", nil)
	request("agent rate from the answer", "/cart", nil)
	request("manual keep at start", "/health", nil, ddsample.KeepAttribute())
	request("manual keep after start", "/health", ddsample.ManualKeep)
	request("manual drop at start", "/cart", nil, ddsample.DropAttribute())
	// Rates of 0.5, with trace IDs the Knuth test keeps and drops at 0.5.
	// No export may answer between UpdateRates and the decisions.
	flush()
	s.UpdateRates(map[string]float64{"service:store,env:prod": 0.5, "service:,env:": 1})
	ids.preset(knuthLow(t, 0.5, true))
	request("agent rate 0.5, kept", "/cart", nil)
	ids.preset(knuthLow(t, 0.5, false))
	request("agent rate 0.5, dropped", "/cart", nil)
	flush()

	rate := strconv.FormatFloat(agentRate, 'g', -1, 64)
	want := map[string]chunkDecision{
		"agent default rate, no answer yet": {Priority: 1, ChunkDM: "-1", Kept: true, PriorityTag: "1", DM: "-1", AgentPSR: "1"},
		"rule keep":                         {Priority: 2, ChunkDM: "-3", Kept: true, PriorityTag: "2", DM: "-3", KSR: "1", RulePSR: "1", LimitPSR: "1"},
		"rule keep, over the rate limit":    {Priority: -1, PriorityTag: "-1", KSR: "1", RulePSR: "1", LimitPSR: "<1"},
		"rule drop":                         {Priority: -1, PriorityTag: "-1", KSR: "0", RulePSR: "0"},
		"agent rate from the answer":        {Priority: 1, ChunkDM: "-1", Kept: true, PriorityTag: "1", DM: "-1", KSR: rate, AgentPSR: rate},
		"manual keep at start":              {Priority: 2, ChunkDM: "-4", Kept: true, PriorityTag: "2", DM: "-4"},
		"manual keep after start":           {Priority: 2, ChunkDM: "-4", Kept: true, PriorityTag: "2", DM: "-4", KSR: "0", RulePSR: "0", PriorityElsew: true},
		"manual drop at start":              {Priority: -1, PriorityTag: "-1"},
		"agent rate 0.5, kept":              {Priority: 1, ChunkDM: "-1", Kept: true, PriorityTag: "1", DM: "-1", KSR: "0.5", AgentPSR: "0.5"},
		"agent rate 0.5, dropped":           {Priority: 0, PriorityTag: "0", KSR: "0.5", AgentPSR: "0.5"},
	}
	if agentRate != 1 {
		t.Logf("the Agent's rate for store/prod is %v", agentRate)
	}

	ra.concentrator.waitInputSpans(t, spans)
	all := ra.concentrator.statsInputChunks()
	keptSpans := 0
	for _, ch := range all {
		if ch.priority > 0 {
			keptSpans += len(ch.spans)
		}
	}
	// The default path writes what it kept after it computes the stats.
	ra.writer.waitSpans(t, keptSpans)
	kept := map[uint64]seenChunk{}
	for _, ch := range ra.writer.keptChunks() {
		kept[ch.spans[0].id] = ch
		if ch.dropped || ch.priority <= 0 {
			t.Errorf("chunk of %#x: the Agent kept it with priority %d (dropped %v)", ch.spans[0].id, ch.priority, ch.dropped)
		}
	}
	got := map[string]chunkDecision{}
	for _, ch := range all {
		root := ch.spans[0].id
		k, isKept := kept[root]
		if isKept {
			// What the Agent keeps is what it read: no sampling of its own.
			if diff := cmp.Diff(decisionOf(ch, true), decisionOf(k, true)); diff != "" {
				t.Errorf("chunk of %#x: kept by the Agent (-as received +as kept):\n%s", root, diff)
			}
		}
		if isKept != (ch.priority > 0) {
			t.Errorf("chunk of %#x, priority %d: kept by the Agent %v", root, ch.priority, isKept)
		}
		if name, ok := cases[root]; ok {
			got[name] = decisionOf(ch, isKept)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions as the Agent made them out (-want +got):\n%s", diff)
	}
	if len(kept) == 0 || len(kept) == len(all) {
		t.Errorf("the Agent kept %d of %d chunks: want some kept and some dropped", len(kept), len(all))
	}
}
