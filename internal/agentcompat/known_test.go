package agentcompat

import (
	"strconv"
)

// knownMismatch is a difference between ddexport and the Agent's own
// OpenTelemetry mapping that is not one of the deliberate differences: a
// bug in ddexport, to be fixed there. The suite asserts ddexport's current
// value so that it notices the fix (the test then fails and the entry goes);
// the test built with the agentcompat_pending tag asserts the Agent's value
// instead, and passes once every entry is fixed.
type knownMismatch struct {
	SpanID uint64
	// Field is "type", "meta:<key>" or "metric:<key>".
	Field string
	// Agent and DDExport are the values on each path; absent means the
	// key is not there.
	Agent, DDExport string
	// Rule says where the Agent's rule lives.
	Rule string
}

const absent = "<absent>"

// knownMismatches are the open ddexport bugs found by this suite.
// None is open: the two found so far (the gen_ai span type and
// _sample_rate from the tracestate) are fixed.
var knownMismatches = []knownMismatch{}

// applyKnown turns the Agent's expectation w for the span id into ddexport's
// current behaviour.
func applyKnown(id uint64, w want) want {
	for _, m := range knownMismatches {
		if m.SpanID != id {
			continue
		}
		switch kind, key := splitField(m.Field); kind {
		case "type":
			w.Type = m.DDExport
		case "meta":
			delete(w.Meta, key)
			if m.DDExport == absent {
				w.Absent = append(w.Absent, key)
			} else {
				w.Meta[key] = m.DDExport
			}
		case "metric":
			delete(w.Metrics, key)
			if m.DDExport == absent {
				w.Absent = append(w.Absent, key)
			} else {
				f, err := strconv.ParseFloat(m.DDExport, 64)
				if err != nil {
					panic(err)
				}
				if w.Metrics == nil {
					w.Metrics = map[string]float64{}
				}
				w.Metrics[key] = f
			}
		}
	}
	return w
}

// applyKnownShown checks that the ddexport side d shows the known
// mismatches of span id as they are today, and replaces them with the
// Agent's values so that the rest can be compared.
func applyKnownShown(id uint64, d *shown) []string {
	var problems []string
	for _, m := range knownMismatches {
		if m.SpanID != id {
			continue
		}
		kind, key := splitField(m.Field)
		var got string
		switch kind {
		case "type":
			got = d.Type
			d.Type = m.Agent
		case "meta":
			got = absent
			if v, ok := d.Meta[key]; ok {
				got = v
			}
			delete(d.Meta, key)
			if m.Agent != absent {
				d.Meta[key] = m.Agent
			}
		case "metric":
			got = absent
			if v, ok := d.Metrics[key]; ok {
				got = strconv.FormatFloat(v, 'g', -1, 64)
			}
			delete(d.Metrics, key)
			if m.Agent != absent {
				f, err := strconv.ParseFloat(m.Agent, 64)
				if err != nil {
					panic(err)
				}
				if d.Metrics == nil {
					d.Metrics = map[string]float64{}
				}
				d.Metrics[key] = f
			}
		}
		if got != m.DDExport {
			problems = append(problems, m.Field+": ddexport now gives "+strconv.Quote(got)+
				", the known mismatch says "+strconv.Quote(m.DDExport)+" (fixed? then remove the entry)")
		}
	}
	return problems
}

func splitField(f string) (kind, key string) {
	for i := 0; i < len(f); i++ {
		if f[i] == ':' {
			return f[:i], f[i+1:]
		}
	}
	return f, ""
}
