package ddotel

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// decodedRate is the probability a th value stands for, decoded as the
// Datadog Agent and ddexport decode it: 1 - th/2^56.
func decodedRate(t *testing.T, th string) float64 {
	t.Helper()
	if len(th) == 0 || len(th) > 14 {
		t.Fatalf("th %q: want 1 to 14 hex digits", th)
	}
	v, err := strconv.ParseUint(th, 16, 64)
	if err != nil {
		t.Fatalf("th %q: %v", th, err)
	}
	v <<= 4 * (14 - len(th))
	return 1 - float64(v)/(1<<56)
}

func TestRatioSamplerThreshold(t *testing.T) {
	tests := []struct {
		rate float64
		th   string
	}{
		{1, "0"},
		{0.5, "8"},
		{0.25, "c"},
		{0.125, "e"},
		{0.0625, "f"},
		// 0.1 and 0.01 to the full 56 bits, as OpenTelemetry's example
		// thresholds fd70a4 (5 digits) and e6666 are rounded from.
		{0.1, "e6666666666666"},
		{0.01, "fd70a3d70a3d71"},
		{1 - 1.0/(1<<52), "0000000000001"},
		{1.0 / (1 << 56), "ffffffffffffff"},
		{1e-30, "ffffffffffffff"}, // too small to keep anything else
	}
	for _, tt := range tests {
		s := newRatioSampler(tt.rate)
		if s.th != tt.th {
			t.Errorf("rate %g: th %q, want %q", tt.rate, s.th, tt.th)
		}
		// Decoding through a float64 is exact enough down to tiny rates.
		if tt.rate >= 1e-9 {
			if got := decodedRate(t, s.th); math.Abs(got-tt.rate) > tt.rate*1e-12 {
				t.Errorf("rate %g: th %q decodes as %g", tt.rate, s.th, got)
			}
		}
	}
	if s := newRatioSampler(0); !s.never {
		t.Error("rate 0 keeps something")
	}
}

// The decision is OpenTelemetry's threshold rule: keep exactly when the
// trace's randomness (rv, else the trace ID's low 56 bits) is at or above
// the threshold th records; the kept fraction matches the rate.
func TestRatioSamplerDecision(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, rate := range []float64{0, 0.001, 0.1, 0.25, 0.5, 0.9, 1} {
		t.Run(strconv.FormatFloat(rate, 'g', -1, 64), func(t *testing.T) {
			s := newRatioSampler(rate)
			const n = 100_000
			kept := 0
			for range n {
				var id trace.TraceID
				binary.BigEndian.PutUint64(id[:8], r.Uint64())
				binary.BigEndian.PutUint64(id[8:], r.Uint64())
				res := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: id, Name: "op"})
				randomness := binary.BigEndian.Uint64(id[8:]) & (1<<56 - 1)
				want := rate > 0 && randomness >= s.threshold
				if got := res.Decision == sdktrace.RecordAndSample; got != want {
					t.Fatalf("trace %s: kept %v, want %v (randomness %014x, threshold %014x)", id, got, want, randomness, s.threshold)
				}
				if want {
					kept++
					if got := res.Tracestate.Get("ot"); got != "th:"+s.th {
						t.Fatalf("kept trace %s: ot=%q, want th:%s", id, got, s.th)
					}
				} else if res.Tracestate.Len() != 0 {
					t.Fatalf("dropped trace %s: tracestate %q", id, res.Tracestate)
				}
			}
			// Five standard deviations of a binomial count: a seeded
			// source, so this never flakes, but it fails if the rule keeps
			// another fraction.
			sd := math.Sqrt(n * rate * (1 - rate))
			if math.Abs(float64(kept)-n*rate) > 5*sd+0.5 {
				t.Errorf("kept %d of %d, want about %.0f (±%.0f)", kept, n, n*rate, 5*sd)
			}
		})
	}
}

// The sampler's tracestate: other members, the dd= member included, and
// other ot sub-keys are kept; rv, when valid, is the randomness; a drop
// erases th.
func TestRatioSamplerTracestate(t *testing.T) {
	const (
		high = "ffffffffffffff" // randomness every rate above 0 keeps
		low  = "00000000000000" // randomness rate 1 alone keeps
	)
	traceID := func(low56 string) trace.TraceID {
		var id trace.TraceID
		v, err := strconv.ParseUint(low56, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		binary.BigEndian.PutUint64(id[8:], v)
		id[0] = 1
		return id
	}
	tests := []struct {
		name       string
		rate       float64
		tracestate string // the parent's
		id         string // the trace ID's low 56 bits
		wantKeep   bool
		want       string // the result's tracestate
	}{
		{"root, kept", 0.5, "", high, true, "ot=th:8"},
		{"root, dropped", 0.5, "", low, false, ""},
		{"dd= and other vendors kept, ot first", 0.5, "dd=s:1;o:rum;t.dm:-0,rojo=1", high, true, "ot=th:8,dd=s:1;o:rum;t.dm:-0,rojo=1"},
		{"dropped: other members untouched", 0.5, "dd=s:1,rojo=1", low, false, "dd=s:1,rojo=1"},
		{"a parent's th replaced", 0.25, "dd=s:1,ot=th:8;x:y", high, true, "ot=th:c;x:y,dd=s:1"},
		{"a parent's th erased on a drop", 0.25, "dd=s:1,ot=x:y;th:8", low, false, "ot=x:y,dd=s:1"},
		{"a parent's lone th erased on a drop", 0.25, "rojo=1,ot=th:8", low, false, "rojo=1"},
		{"rv is the randomness: kept", 0.5, "ot=rv:" + high, low, true, "ot=th:8;rv:" + high},
		{"rv is the randomness: dropped", 0.5, "ot=rv:" + low, high, false, "ot=rv:" + low},
		{"a malformed rv is ignored", 0.5, "ot=rv:fff", high, true, "ot=th:8;rv:fff"},
		{"rate 1 keeps the lowest randomness", 1, "", low, true, "ot=th:0"},
		{"rate 0 keeps nothing", 0, "ot=th:0;rv:" + high, high, false, "ot=rv:" + high},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := trace.ParseTraceState(tt.tracestate)
			if err != nil {
				t.Fatal(err)
			}
			id := traceID(tt.id)
			parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: id, SpanID: trace.SpanID{1}, TraceState: ts, Remote: true})
			res := newRatioSampler(tt.rate).ShouldSample(sdktrace.SamplingParameters{
				ParentContext: trace.ContextWithRemoteSpanContext(context.Background(), parent), TraceID: id, Name: "op"})
			if got := res.Decision == sdktrace.RecordAndSample; got != tt.wantKeep {
				t.Errorf("kept = %v, want %v", got, tt.wantKeep)
			}
			if got := res.Tracestate.String(); got != tt.want {
				t.Errorf("tracestate %q, want %q", got, tt.want)
			}
		})
	}
	if got := newRatioSampler(0.25).Description(); got != "TraceIDRatioBased{0.25}" {
		t.Errorf("Description = %q", got)
	}
}

// fixedIDs gives every new trace one trace ID, so that a test knows the
// sampling decision in advance.
type fixedIDs struct {
	traceID trace.TraceID
	next    uint64
}

func (g *fixedIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	return g.traceID, g.NewSpanID(context.Background(), g.traceID)
}

func (g *fixedIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.next++
	var id trace.SpanID
	binary.BigEndian.PutUint64(id[:], g.next)
	return id
}

// A trace that reaches the Agent in several chunks (partial flush sends a
// long trace's finished spans ahead): every chunk root carries _sample_rate,
// so the Agent weighs every chunk by the rate, for each way Start is told to
// sample at a rate.
func TestSampleRateOnEveryChunkRoot(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []Option
	}{
		{name: "traceidratio", env: map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}},
		{name: "parentbased_traceidratio", env: map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			restoreGlobals(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			agent := ddtest.New(t)
			// Randomness 0xff...: kept at any rate above 0.
			ids := &fixedIDs{traceID: trace.TraceID{0: 0x5a, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff}}
			// Partial flush cuts the trace into chunks, most without its root.
			opts := append([]Option{WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())),
				WithProcessorOptions(ddexport.WithPartialFlush(100)),
				WithTracerProviderOptions(sdktrace.WithIDGenerator(ids))}, tc.opts...)
			shutdown, err := Start(context.Background(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			tracer := otel.Tracer("test")
			ctx, root := tracer.Start(context.Background(), "root")
			for range 600 {
				_, child := tracer.Start(ctx, "child")
				child.End()
			}
			root.End()
			if err := shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}

			type chunk struct {
				Spans, Roots, RootsWithRate int
			}
			var got []chunk
			total := 0
			for _, p := range agent.Payloads() {
				for _, c := range p.Chunks {
					in := map[uint64]bool{}
					for _, s := range c {
						in[s.SpanID] = true
					}
					ch := chunk{Spans: len(c)}
					for _, s := range c {
						if in[s.ParentID] {
							continue
						}
						ch.Roots++
						if s.Metrics[SampleRateKey] == 0.25 {
							ch.RootsWithRate++
						}
					}
					total += len(c)
					got = append(got, ch)
				}
			}
			if total != 601 {
				t.Fatalf("the agent received %d spans, want 601", total)
			}
			if len(got) < 2 {
				t.Fatalf("the trace arrived in %d chunk(s); the test needs several", len(got))
			}
			for i, c := range got {
				if c.Roots == 0 || c.RootsWithRate != c.Roots {
					t.Errorf("chunk %d of %d spans: %d of its %d roots carry %s=0.25", i, c.Spans, c.RootsWithRate, c.Roots, SampleRateKey)
				}
			}
		})
	}
}

// The default sampler and the always samplers record no rate.
func TestNoSampleRateWithoutARatio(t *testing.T) {
	for _, tc := range []struct{ name, key, value string }{
		{"default", "OTEL_TRACES_SAMPLER", ""},
		{"always_on", "OTEL_TRACES_SAMPLER", "always_on"},
		{"parentbased_always_on", "OTEL_TRACES_SAMPLER", "parentbased_always_on"},
		// Datadog's sampling sends the traces it drops: their weight is 1.
		{"DD_TRACE_SAMPLE_RATE", "DD_TRACE_SAMPLE_RATE", "0.25"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			restoreGlobals(t)
			t.Setenv(tc.key, tc.value)
			agent := ddtest.New(t)
			shutdown, err := Start(context.Background(), WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
			if err != nil {
				t.Fatal(err)
			}
			ctx, root := otel.Tracer("test").Start(context.Background(), "root")
			_, child := otel.Tracer("test").Start(ctx, "child")
			child.End()
			root.End()
			if err := shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			var rates []float64
			for _, s := range agent.Spans() {
				if r, ok := s.Metrics[SampleRateKey]; ok {
					rates = append(rates, r)
				}
			}
			if diff := cmp.Diff([]float64(nil), rates); diff != "" {
				t.Errorf("%s set (-want +got):\n%s", SampleRateKey, diff)
			}
		})
	}
}

// B3 headers without a decision leave it to this service, as Datadog
// headers without a priority do: the rate decides.
func TestStartDecisionlessB3Headers(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	agent := ddtest.New(t)
	t.Setenv("DD_TRACE_PROPAGATION_STYLE", "b3multi")
	shutdown, err := Start(context.Background(), WithoutLogs(), WithSampleRate(1),
		WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	if err != nil {
		t.Fatal(err)
	}
	extract := func(headers map[string]string) context.Context {
		return otel.GetTextMapPropagator().Extract(context.Background(), propagation.MapCarrier(headers))
	}
	_, open := otel.Tracer("test").Start(extract(map[string]string{
		"x-b3-traceid": "000000000000000b", "x-b3-spanid": "000000000000000c"}), "open")
	open.End()
	_, dropped := otel.Tracer("test").Start(extract(map[string]string{
		"x-b3-traceid": "0000000000000015", "x-b3-spanid": "0000000000000016", "x-b3-sampled": "0"}), "dropped")
	dropped.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[uint64]decision{11: {Priority: 2, DM: "-3"}, 21: {Priority: 0}}
	if diff := cmp.Diff(want, decisions(agent)); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
}

func BenchmarkRatioSampler(b *testing.B) {
	ts, err := trace.ParseTraceState("dd=s:1;o:rum;t.dm:-0,rojo=00f067aa0ba902b7")
	if err != nil {
		b.Fatal(err)
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceState: ts, Remote: true})
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{
		{"root", context.Background()},
		{"remote parent with tracestate", trace.ContextWithRemoteSpanContext(context.Background(), parent)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newRatioSampler(0.5)
			p := sdktrace.SamplingParameters{ParentContext: bc.ctx, Name: "op"}
			p.TraceID[15] = 0xff
			p.TraceID[9] = 0xff // kept
			b.ReportAllocs()
			for b.Loop() {
				s.ShouldSample(p)
			}
		})
	}
}
