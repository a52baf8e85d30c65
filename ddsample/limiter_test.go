package ddsample

import (
	"math"
	"testing"
	"time"
)

func TestLimiterBurst(t *testing.T) {
	for _, tc := range []struct {
		limit float64
		burst int // ceil(limit): what a full bucket lets through at once
	}{
		{100, 100}, {10, 10}, {2.5, 3}, {0.5, 1}, {1, 1}, {0, 0},
	} {
		c := newFakeClock()
		l := newLimiter(tc.limit, c.now())
		allowed := 0
		for range 1000 {
			if ok, _ := l.allow(c.now()); ok {
				allowed++
			}
		}
		if allowed != tc.burst {
			t.Errorf("limit %g: %d of a burst of 1000 allowed, want %d", tc.limit, allowed, tc.burst)
		}
	}
}

func TestLimiterUnlimited(t *testing.T) {
	c := newFakeClock()
	for _, limit := range []float64{math.Inf(1), unlimitedRate, math.MaxFloat64} {
		l := newLimiter(limit, c.now())
		for i := range 10000 {
			if ok, eff := l.allow(c.now()); !ok || eff != 1 {
				t.Fatalf("limit %g, event %d: allowed %t, effective rate %g; want all allowed at 1", limit, i, ok, eff)
			}
		}
	}
}

// TestLimiterSustained sends far more than the limit for a while: what is
// let through is the burst plus the limit for each second elapsed, never
// more, and no less than the limit for each whole second.
func TestLimiterSustained(t *testing.T) {
	for _, limit := range []float64{100, 7, 0.5} {
		c := newFakeClock()
		l := newLimiter(limit, c.now())
		const perSecond, seconds = 1000, 10
		allowed := 0
		for range perSecond * seconds {
			if ok, _ := l.allow(c.now()); ok {
				allowed++
			}
			c.add(time.Second / perSecond)
		}
		upper := math.Ceil(limit) + limit*seconds
		lower := math.Floor(limit * seconds)
		if float64(allowed) > upper || float64(allowed) < lower {
			t.Errorf("limit %g: %d allowed in %d s, want between %g and %g", limit, allowed, seconds, lower, upper)
		}
	}
}

func TestLimiterRefill(t *testing.T) {
	c := newFakeClock()
	l := newLimiter(10, c.now())
	for range 10 {
		l.allow(c.now())
	}
	if ok, _ := l.allow(c.now()); ok {
		t.Fatal("an empty bucket let an event through")
	}
	c.add(99 * time.Millisecond) // 0.99 token
	if ok, _ := l.allow(c.now()); ok {
		t.Fatal("less than a token let an event through")
	}
	c.add(time.Millisecond) // a refused event does not reset the refill
	if ok, _ := l.allow(c.now()); !ok {
		t.Fatal("a whole token earned, event refused")
	}
	c.add(time.Hour) // refills to the bucket size, not more
	n := 0
	for range 100 {
		if ok, _ := l.allow(c.now()); ok {
			n++
		}
	}
	if n != 10 {
		t.Errorf("%d allowed after a long pause, want the bucket size 10", n)
	}
}

// TestLimiterEffectiveRate checks _dd.limit_psr: the share of events let
// through in the current window and, when it directly precedes it, the
// previous one.
func TestLimiterEffectiveRate(t *testing.T) {
	c := newFakeClock()
	l := newLimiter(10, c.now())
	var eff float64
	for range 40 { // window 1: 10 of 40
		_, eff = l.allow(c.now())
	}
	if eff != 10.0/40 {
		t.Errorf("effective rate %g in the first window, want %g", eff, 10.0/40)
	}
	c.add(1500 * time.Millisecond) // window 2 starts: window 1 counts
	_, eff = l.allow(c.now())      // 10 tokens earned back
	if want := (10.0 + 1) / (40 + 1); eff != want {
		t.Errorf("effective rate %g with the previous window, want %g", eff, want)
	}
	c.add(2500 * time.Millisecond) // window 3 starts more than 2 s later: window 2 is dropped
	_, eff = l.allow(c.now())
	if eff != 1 {
		t.Errorf("effective rate %g after a gap, want 1", eff)
	}
	c.add(999 * time.Millisecond) // still window 3
	_, eff = l.allow(c.now())
	if eff != 1 {
		t.Errorf("effective rate %g, want 1", eff)
	}
}

func TestLimiterClockBackwards(t *testing.T) {
	c := newFakeClock()
	l := newLimiter(1, c.now())
	if ok, _ := l.allow(c.now()); !ok {
		t.Fatal("first event refused")
	}
	c.add(-time.Hour)
	if ok, _ := l.allow(c.now()); ok {
		t.Error("a clock going back earned tokens")
	}
}
