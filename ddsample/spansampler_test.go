package ddsample

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestSpanSampler(t *testing.T) {
	c := newFakeClock()
	ss, err := newSpanSampler([]SpanRule{
		{Service: "db-*", Name: "*.query", SampleRate: 0.5},
		{Service: "db-*", SampleRate: 1, MaxPerSecond: 2},
		{Name: "cache.get", SampleRate: 1, MaxPerSecond: -1},
		{Name: "never", SampleRate: 0, MaxPerSecond: 5},
	}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	// The first rule hashes the span ID at its rate.
	rnd := rand.New(rand.NewPCG(3, 4))
	kept := 0
	for range 10000 {
		id := rnd.Uint64()
		rate, mps, keep := ss.SampleSpan("DB-users", "select.QUERY", id)
		if rate != 0.5 || mps != 0 {
			t.Fatalf("first rule: rate %g, max %g; want its own 0.5 and 0", rate, mps)
		}
		if keep != knuthKeeps(id, 0.5) {
			t.Fatalf("span ID %d: kept %t, the Knuth test says %t", id, keep, !keep)
		}
		if keep {
			kept++
		}
	}
	if kept < 4500 || kept > 5500 {
		t.Errorf("%d of 10000 kept at 0.5", kept)
	}
	// The second rule allows 2 a second.
	var allowed int
	for i := range 100 {
		rate, mps, keep := ss.SampleSpan("db-users", "insert", uint64(i))
		if rate != 1 || mps != 2 {
			t.Fatalf("second rule: rate %g, max %g; want 1 and 2", rate, mps)
		}
		if keep {
			allowed++
		}
	}
	if allowed != 2 {
		t.Errorf("%d spans allowed at once under max_per_second 2, want 2", allowed)
	}
	c.add(500 * time.Millisecond)
	if _, _, keep := ss.SampleSpan("db-users", "insert", 1); !keep {
		t.Error("a token earned in 0.5 s, span refused")
	}
	// No limit at 0 or below.
	for i := range 1000 {
		if rate, mps, keep := ss.SampleSpan("web", "cache.get", uint64(i)); rate != 1 || mps != -1 || !keep {
			t.Fatalf("unlimited rule, span %d: %g, %g, %t", i, rate, mps, keep)
		}
	}
	// Rate 0 keeps nothing, and reports the rule.
	if rate, mps, keep := ss.SampleSpan("web", "never", 0); rate != 0 || mps != 5 || keep {
		t.Errorf("rate-0 rule: %g, %g, %t", rate, mps, keep)
	}
	// No rule: nothing.
	if rate, mps, keep := ss.SampleSpan("web", "other", 0); rate != 0 || mps != 0 || keep {
		t.Errorf("no rule: %g, %g, %t", rate, mps, keep)
	}
	var none *SpanSampler
	if rate, mps, keep := none.SampleSpan("a", "b", 1); rate != 0 || mps != 0 || keep {
		t.Errorf("nil SpanSampler: %g, %g, %t", rate, mps, keep)
	}
}

func TestSamplerSpanSampler(t *testing.T) {
	if s := mustNew(t); s.SpanSampler() != nil {
		t.Error("a SpanSampler without span rules")
	}
	s := mustNew(t, WithSpanRules(SpanRule{Name: "x", SampleRate: 1}))
	if _, _, keep := s.SpanSampler().SampleSpan("svc", "x", 9); !keep {
		t.Error("span rule of the sampler not applied")
	}
	ss, err := NewSpanSampler()
	if err != nil || ss == nil {
		t.Fatalf("NewSpanSampler() = %v, %v", ss, err)
	}
	if _, err := NewSpanSampler(SpanRule{SampleRate: 2}); err == nil {
		t.Error("NewSpanSampler accepted rate 2")
	}
}
