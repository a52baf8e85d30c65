package ddsample

import (
	"context"
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/ddprop"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mustNew is New that fails the test on error, with a fake clock unless
// opts set one.
func mustNew(t testing.TB, opts ...Option) *Sampler {
	t.Helper()
	s, err := New(append([]Option{withClock(newFakeClock().now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// traceID returns a trace ID with the given low 64 bits (and a fixed high
// half, which must not matter).
func traceID(low uint64) trace.TraceID {
	var id trace.TraceID
	binary.BigEndian.PutUint64(id[:8], 0x0123456789abcdef)
	binary.BigEndian.PutUint64(id[8:], low)
	return id
}

// root returns the parameters of a local root with no parent.
func root(low uint64, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) sdktrace.SamplingParameters {
	return sdktrace.SamplingParameters{
		ParentContext: context.Background(),
		TraceID:       traceID(low),
		Name:          name,
		Kind:          kind,
		Attributes:    attrs,
	}
}

// knuthKeeps is the Knuth test computed independently of the package, with
// exact integers: low × 1111111111111111111 mod 2^64 must not exceed
// rate × (2^64 − 1) as Go converts it (the float product, truncated).
func knuthKeeps(low uint64, rate float64) bool {
	if rate == 1 {
		return true
	}
	if rate == 0 {
		return false
	}
	h := new(big.Int).Mul(new(big.Int).SetUint64(low), big.NewInt(1111111111111111111))
	h.Mod(h, new(big.Int).Lsh(big.NewInt(1), 64))
	// float64(MaxUint64) is 2^64, and scaling by a power of two is exact.
	limit, _ := new(big.Float).SetFloat64(math.Ldexp(rate, 64)).Int(nil)
	return h.Cmp(limit) <= 0
}

// lowWith returns the first low trace ID from start that the Knuth test
// keeps (or drops) at rate.
func lowWith(t testing.TB, rate float64, keep bool, start uint64) uint64 {
	t.Helper()
	for low := start; low < start+1_000_000; low++ {
		if knuthKeeps(low, rate) == keep {
			return low
		}
	}
	t.Fatalf("no ID from %d is kept=%t at rate %g", start, keep, rate)
	return 0
}

// outcome is a SamplingResult in comparable form.
type outcome struct {
	Decision   sdktrace.SamplingDecision
	State      string // the tracestate
	Priority   string // s: of the dd= member, "" when none
	DM, KSR    string
	Attributes map[string]float64
}

func outcomeOf(r sdktrace.SamplingResult) outcome {
	o := outcome{Decision: r.Decision, State: r.Tracestate.String()}
	if st, ok := ddprop.ParseState(r.Tracestate); ok {
		if st.HasPriority {
			o.Priority = strconv.Itoa(st.Priority)
		}
		o.DM, _ = st.Tag("_dd.p.dm")
		o.KSR, _ = st.Tag("_dd.p.ksr")
	}
	if len(r.Attributes) > 0 {
		o.Attributes = map[string]float64{}
		for _, kv := range r.Attributes {
			o.Attributes[string(kv.Key)] = kv.Value.AsFloat64()
		}
	}
	return o
}

// remoteParent returns a context holding a remote span context with the
// given flags and tracestate.
func remoteParent(t testing.TB, sampled bool, tracestate string) context.Context {
	t.Helper()
	ts, err := trace.ParseTraceState(tracestate)
	if err != nil {
		t.Fatal(err)
	}
	cfg := trace.SpanContextConfig{
		TraceID:    traceID(42),
		SpanID:     trace.SpanID{0, 0, 0, 0, 0, 0, 0, 7},
		TraceState: ts,
		Remote:     true,
	}
	if sampled {
		cfg.TraceFlags = trace.FlagsSampled
	}
	return trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(cfg))
}
