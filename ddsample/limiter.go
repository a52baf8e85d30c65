package ddsample

import (
	"math"
	"sync"
	"time"
)

// unlimitedRate is a rate limit at which a limiter lets everything through.
// Datadog's Go tracer treats only math.MaxFloat64 so (its token bucket's
// "infinite" limit); a finite limit of 2^62 or more would need a bucket
// larger than an int and there makes that tracer drop everything, so it is
// taken as unlimited here.
const unlimitedRate = 1 << 62

// limiter is the rate limiter of Datadog's Go tracer: a token bucket filling
// at limit tokens a second, holding at most ceil(limit) (and full at the
// start), each allowed event taking one token; plus the effective rate
// reported as _dd.limit_psr, the share of events allowed over the current
// window and the one before it, a window lasting from its first event until
// an event comes a second or more later. The previous window counts only if
// it ended less than two seconds before the current one began and saw
// events.
type limiter struct {
	mu        sync.Mutex
	unlimited bool
	limit     float64 // tokens per second
	burst     float64 // bucket size
	tokens    float64
	last      time.Time // when tokens was last taken from

	window                time.Time // start of the current window
	allowed, seen         float64
	prevAllowed, prevSeen float64
}

// newLimiter returns a limiter of perSecond events a second (>= 0; 0 lets
// nothing through, +Inf everything), its window starting at now.
func newLimiter(perSecond float64, now time.Time) *limiter {
	l := &limiter{limit: perSecond, window: now}
	if perSecond >= unlimitedRate {
		l.unlimited = true
		return l
	}
	l.burst = math.Ceil(perSecond)
	l.tokens = l.burst
	return l
}

// allow takes one token at now, and returns whether there was one and the
// effective rate.
func (l *limiter) allow(now time.Time) (bool, float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := now.Sub(l.window); d >= time.Second {
		if d.Truncate(time.Second) == time.Second && l.seen > 0 {
			l.prevAllowed, l.prevSeen = l.allowed, l.seen
		} else {
			l.prevAllowed, l.prevSeen = 0, 0
		}
		l.window = now
		l.allowed, l.seen = 0, 0
	}
	l.seen++
	ok := l.take(now)
	if ok {
		l.allowed++
	}
	return ok, (l.prevAllowed + l.allowed) / (l.prevSeen + l.seen)
}

// take is the token bucket's "allow one event now", to the float operation,
// so that it lets through exactly what the Go tracer's would: the tokens
// earned since the last event taken, capped to the bucket, minus one; a
// deficit is allowed when the time to earn it back rounds to zero
// nanoseconds. A refused event changes nothing.
func (l *limiter) take(now time.Time) bool {
	if l.unlimited {
		return true
	}
	if l.burst < 1 || l.limit <= 0 {
		return false
	}
	last := l.last
	if now.Before(last) {
		last = now
	}
	tokens := l.tokens + now.Sub(last).Seconds()*l.limit
	if tokens > l.burst {
		tokens = l.burst
	}
	tokens--
	if tokens < 0 {
		wait := (-tokens / l.limit) * float64(time.Second)
		if wait > math.MaxInt64 || time.Duration(wait) > 0 {
			return false
		}
	}
	l.last = now
	l.tokens = tokens
	return true
}
