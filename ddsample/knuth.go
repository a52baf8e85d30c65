package ddsample

import (
	"math"
	"strconv"
)

// knuthFactor is the multiplier of Datadog's Knuth hash, the same in its
// tracers and the Agent.
const knuthFactor uint64 = 1111111111111111111

// sampledByRate reports whether the ID n (the trace ID's low 64 bits, or a
// span ID) is kept at rate, exactly as Datadog's Go tracer decides: a rate
// of 1 keeps everything, 0 nothing, and otherwise the hash, wrapping at 64
// bits, must not exceed the rate's share of the 64-bit range. The same ID
// and rate give the same answer in every Datadog tracer, so services agree
// on a trace without talking to each other.
func sampledByRate(n uint64, rate float64) bool {
	if rate == 1 {
		return true
	}
	if rate == 0 {
		return false
	}
	return n*knuthFactor <= uint64(rate*math.MaxUint64)
}

// formatRate formats a rate for _dd.p.ksr as Datadog's Go tracer does: six
// decimals, then trailing zeros and a trailing dot removed ("0.5", "1",
// and "0" for rates under 0.0000005).
func formatRate(rate float64) string {
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], rate, 'f', 6, 64)
	for i := range b {
		if b[i] != '.' {
			continue
		}
		end := len(b)
		for end > i+1 && b[end-1] == '0' {
			end--
		}
		if end == i+1 {
			end = i
		}
		b = b[:end]
		break
	}
	return string(b)
}
