package ddsample

import (
	"strconv"
	"strings"

	"github.com/seed03c8c003/ddslog/ddprop"
	"go.opentelemetry.io/otel/trace"
)

// maxMemberLen bounds the dd= list-member, as Datadog tracers (and ddprop)
// bound it.
const maxMemberLen = 256

// stateOf is the tracestate of a trace started afresh with this decision.
func stateOf(prio int, dm, ksr string) trace.TraceState {
	return inheritState(trace.TraceState{}, prio, dm, ksr)
}

// inherit returns ts with its dd= member carrying the decision: s:prio,
// t.dm:dm when prio > 0 (removed otherwise, as Datadog tracers do), t.ksr
// when ksr is set; the member's other fields and the other vendors' members
// are kept. The result is the one ddprop's State gives (inheritState); the
// common members are rewritten directly, in two allocations.
func inherit(ts trace.TraceState, prio int, dm, ksr string) trace.TraceState {
	if nts, ok := inheritFast(ts, prio, dm, ksr); ok {
		return nts
	}
	return inheritState(ts, prio, dm, ksr)
}

// inheritState is inherit through ddprop's State.
func inheritState(ts trace.TraceState, prio int, dm, ksr string) trace.TraceState {
	st, _ := ddprop.ParseState(ts)
	st.Priority, st.HasPriority = prio, true
	if prio > 0 {
		st.SetTag(dmTag, dm)
	} else {
		st.DeleteTag(dmTag)
	}
	if ksr != "" {
		st.SetTag(ksrTag, ksr)
	}
	nts, err := st.Insert(ts)
	if err != nil {
		// Not reached: ddprop writes valid members. The sampled flag still
		// carries the keep or drop.
		return ts
	}
	return nts
}

// inheritFast is inherit for a dd= member in ddprop's own form (fields in
// order, each once, values that need no re-encoding), which it copies with
// the decision's fields set; it reports false for any other member, which
// inheritState then handles.
func inheritFast(ts trace.TraceState, prio int, dm, ksr string) (trace.TraceState, bool) {
	v := ts.Get("dd")
	var buf [maxMemberLen]byte
	b := append(buf[:0], "s:"...)
	b = strconv.AppendInt(b, int64(prio), 10)
	const (
		atOrigin = iota
		atParent
		atTags
	)
	at, dmDone, ksrDone := atOrigin, false, false
	for rest := v; rest != ""; {
		seen := v[:len(v)-len(rest)] // the fields before this one
		var f string
		f, rest = cutByte(rest, ';')
		k, val, ok := strings.Cut(f, ":")
		if !ok || val == "" {
			return ts, false
		}
		switch {
		case k == "s":
			continue // replaced, wherever it is
		case k == "o":
			if at > atOrigin || !plainValue(val, true) {
				return ts, false
			}
			at = atParent
		case k == "p":
			if at > atParent || !isLastParent(val) {
				return ts, false
			}
			at = atTags
		case strings.HasPrefix(k, "t.") && len(k) > 2:
			at = atTags
			key := k[2:]
			if !plainTagKey(key) || !plainValue(val, false) || key == "tid" || hasField(seen, k) {
				return ts, false // odd, or a repeated tag
			}
			switch key {
			case "dm":
				dmDone = true
				if prio <= 0 {
					continue // removed
				}
				val = dm
			case "ksr":
				ksrDone = true
				if ksr != "" {
					val = ksr
				}
			}
		default:
			return ts, false
		}
		b = append(b, ';')
		b = append(b, k...)
		b = append(b, ':')
		b = append(b, val...)
		if len(b) > maxMemberLen-len("dd=") {
			return ts, false // ddprop leaves tags out
		}
	}
	if prio > 0 && !dmDone {
		b = append(append(b, ";t.dm:"...), dm...)
	}
	if ksr != "" && !ksrDone {
		b = append(append(b, ";t.ksr:"...), ksr...)
	}
	if len(b) > maxMemberLen-len("dd=") {
		return ts, false
	}
	nts, err := ts.Insert("dd", string(b))
	return nts, err == nil
}

// plainValue reports whether a value read from a dd= member is written back
// as it is: printable ASCII other than ",", ";" and "=" (and, in an origin,
// space), not ending with a space.
func plainValue(s string, origin bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || c == ',' || c == ';' || c == '=' || origin && c == ' ' {
			return false
		}
	}
	return s[len(s)-1] != ' '
}

// hasField reports whether the dd= member fields in v include one named k.
func hasField(v, k string) bool {
	for v != "" {
		var f string
		f, v = cutByte(v, ';')
		if name, _, _ := strings.Cut(f, ":"); name == k {
			return true
		}
	}
	return false
}

// plainTagKey reports whether a tag key read from a dd= member is written
// back as it is.
func plainTagKey(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= '~' || c == ',' || c == ';' || c == '=' || c == ':' {
			return false
		}
	}
	return true
}

// isLastParent reports whether s is a p: field as ddprop writes it: 16
// lowercase hexadecimal digits, not all zero.
func isLastParent(s string) bool {
	if len(s) != 16 || s == "0000000000000000" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
