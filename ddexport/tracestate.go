package ddexport

import (
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// ddTraceState is what a Datadog tracer propagated in the dd member of the
// W3C tracestate.
type ddTraceState struct {
	priority    float64
	hasPriority bool
	origin, dm  string
}

func parseDDTraceState(ts trace.TraceState) (d ddTraceState) {
	v := ts.Get("dd")
	for v != "" {
		var m string
		m, v, _ = strings.Cut(v, ";")
		k, val, ok := strings.Cut(m, ":")
		if !ok {
			continue
		}
		switch k {
		case "s":
			if p, err := strconv.ParseInt(val, 10, 32); err == nil {
				d.priority, d.hasPriority = float64(p), true
			}
		case "o":
			d.origin = strings.ReplaceAll(val, "~", "=")
		case "t.dm":
			d.dm = strings.ReplaceAll(val, "~", "=")
		}
	}
	return d
}

// sampleRate decodes the head-sampling probability an OpenTelemetry sampler
// recorded in the ot member of the W3C tracestate, as the Agent does: the
// threshold th:<hex> (probability 1 - th/2^56), else the older p:<n> (2^-n).
func sampleRate(ts trace.TraceState) (float64, bool) {
	v := ts.Get("ot")
	var p string
	for v != "" {
		var m string
		m, v, _ = strings.Cut(v, ";")
		switch k, val, _ := strings.Cut(m, ":"); k {
		case "th":
			if len(val) == 0 || len(val) > 14 {
				return 0, false
			}
			t, err := strconv.ParseUint(val, 16, 64)
			if err != nil {
				return 0, false
			}
			t <<= 4 * (14 - len(val))
			return 1 - float64(t)/(1<<56), true
		case "p":
			p = val
		}
	}
	if p == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(p, 10, 8); err == nil && n < 63 {
		return math.Ldexp(1, -int(n)), true
	}
	return 0, false
}

// appendTraceState appends ts in its W3C form, members separated by commas.
func appendTraceState(b []byte, ts trace.TraceState) []byte {
	first := true
	ts.Walk(func(k, v string) bool {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(append(append(b, k...), '='), v...)
		return true
	})
	return b
}
