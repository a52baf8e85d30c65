package agentcompat

import (
	"encoding/binary"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/DataDog/datadog-agent/pkg/obfuscate"
	"github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace/idx"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/seed03c8c003/ddslog/ddexport"
)

// TestDDExportDefaultReceiverPath sends the corpus with ddexport to the
// receiver as a 7.85 Agent runs it by default: v0.4 and v0.5 payloads are
// converted to the Agent's internal (idx) representation and processed by
// ProcessV1. Every span must arrive, in kept chunks, with the fields
// TestDDExport checks on the classic path.
func TestDDExportDefaultReceiverPath(t *testing.T) { testDDExportDefaultReceiverPath(t, false) }

func testDDExportDefaultReceiverPath(t *testing.T, strict bool) {
	for _, tc := range []struct {
		name       string
		version    ddexport.APIVersion
		spanEvents bool
		native     bool
	}{
		{"v0.4/native-span-events", ddexport.V04, true, true},
		{"v0.4/no-span-events", ddexport.V04, false, false},
		{"v0.5", ddexport.V05, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ra := newRealAgent(t, agentOptions{spanEvents: tc.spanEvents, convertV1: true})
			c := corpus()
			if tc.native {
				exportDDNative(t, ra, c, ddexport.WithAPIVersion(tc.version))
			} else {
				exportDD(t, ra, c, ddexport.WithAPIVersion(tc.version))
			}
			path := "/" + tc.version.String() + "/traces"
			codes := ra.Statuses(path)
			if len(codes) == 0 {
				t.Fatalf("no request to %s", path)
			}
			for _, code := range codes {
				if code != http.StatusOK {
					t.Errorf("%s answered %d", path, code)
				}
			}
			ra.writer.waitSpans(t, len(c))
			ra.checkReceiverStats(t, tc.version.String(), len(c))
			if n := len(ra.writer.tracerPayloads()); n != 0 {
				t.Errorf("%d payloads went through the classic Process, want none", n)
			}

			spans := map[uint64]*idx.InternalSpan{}
			chunkOf := map[uint64]*idx.InternalTraceChunk{}
			nchunks := 0
			for _, sc := range ra.writer.sampledV1() {
				for _, ch := range sc.TracerPayload.Chunks {
					nchunks++
					if ch.DroppedTrace || ch.Priority != 1 {
						t.Errorf("chunk %x: dropped=%v priority=%d, want kept with priority 1", ch.TraceID, ch.DroppedTrace, ch.Priority)
					}
					for _, s := range ch.Spans {
						if _, dup := spans[s.SpanID()]; dup {
							t.Errorf("span %#x written twice", s.SpanID())
						}
						spans[s.SpanID()] = s
						chunkOf[s.SpanID()] = ch
					}
				}
			}
			traces := map[uint64]bool{}
			for _, cs := range c {
				traces[low64(cs.stub.SpanContext.TraceID())] = true
			}
			if nchunks != len(traces) {
				t.Errorf("agent wrote %d chunks, want one per trace: %d", nchunks, len(traces))
			}

			adjust := ddWant(roots(c), strict)
			for _, cs := range c {
				id := sid64(cs.stub.SpanContext.SpanID())
				s, ok := spans[id]
				if !ok {
					t.Errorf("span %#x %q: missing", id, cs.stub.Name)
					continue
				}
				ch := chunkOf[id]
				// The 128-bit trace ID is the chunk's.
				tid := cs.stub.SpanContext.TraceID()
				if diff := cmp.Diff(tid[:], ch.TraceID); diff != "" {
					t.Errorf("span %#x: chunk trace ID (-want +got):\n%s", id, diff)
				}
				w := adjust(cs)
				// ProcessV1 validates http.status_code whatever its type
				// (normalizer.go reads it with GetAttributeAsString), where
				// the classic Process only looks at meta: an invalid numeric
				// code is dropped here.
				if code, ok := w.Metrics["http.status_code"]; ok && (code < 100 || code > 599) {
					delete(w.Metrics, "http.status_code")
					w.Absent = append(w.Absent, "http.status_code")
				}
				// A default Agent obfuscates what looks like a credit card
				// number (13 to 19 digits, without Luhn), and on this path
				// numeric attributes too: such a metric becomes the
				// string "?". The Agent's own obfuscator says which.
				for k, f := range w.Metrics {
					if text := strconv.FormatFloat(f, 'f', -1, 64); ccObfuscator.ShouldObfuscateCCKey(k) && ccObfuscator.ObfuscateCreditCardNumber(text) != text {
						delete(w.Metrics, k)
						if w.Meta == nil {
							w.Meta = map[string]string{}
						}
						w.Meta[k] = ccObfuscator.ObfuscateCreditCardNumber(text)
					}
				}
				delete(w.Meta, "_dd.p.tid")
				w.Absent = slices.DeleteFunc(w.Absent, func(k string) bool { return k == "_dd.p.tid" })
				v := projectV1(w, s)
				if diff := cmp.Diff(wantView(w), v, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("span %#x %q (-want +got):\n%s", id, cs.stub.Name, diff)
				}
				wantIDs := wantIDs(cs.stub)
				gotIDs := ids{TraceID: ch.LegacyTraceID(), SpanID: s.SpanID(), ParentID: s.ParentID(), Start: int64(s.Start()), Duration: int64(s.Duration())}
				if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
					t.Errorf("span %#x %q: ids (-want +got):\n%s", id, cs.stub.Name, diff)
				}
				if tc.native {
					checkV1Native(t, cs, s)
				}
			}
		})
	}
}

// ccObfuscator is the Agent's obfuscator with the credit card settings of
// a default Agent (see defaultAgentConfig).
var ccObfuscator = obfuscate.NewObfuscator(obfuscate.Config{CreditCard: obfuscate.CreditCardsConfig{Enabled: true}})

// projectV1 keeps of an internal span what w asserts.
func projectV1(w want, s *idx.InternalSpan) view {
	var errCode int32
	if s.Error() {
		errCode = 1
	}
	v := view{Service: s.Service(), Name: s.Name(), Resource: s.Resource(), Type: s.Type(), Error: errCode}
	if len(w.Meta) > 0 {
		v.Meta = map[string]string{}
		for k := range w.Meta {
			if x, ok := s.GetAttributeAsString(k); ok {
				v.Meta[k] = x
			}
		}
	}
	if len(w.Metrics) > 0 {
		v.Metrics = map[string]float64{}
		for k := range w.Metrics {
			if x, ok := s.GetAttributeAsFloat64(k); ok {
				v.Metrics[k] = x
			}
		}
	}
	for _, k := range w.Absent {
		// GetAttribute answers ok for any key in the payload's string
		// table; a nil value means the span does not have it.
		if x, ok := s.GetAttribute(k); ok && x != nil {
			v.Present = append(v.Present, k)
		}
	}
	return v
}

// checkV1Native asserts the names and times of native span events, and the
// identity, tracestate and flags of native span links, as ProcessV1 keeps
// them.
func checkV1Native(t *testing.T, cs corpusSpan, s *idx.InternalSpan) {
	t.Helper()
	type ev struct {
		Time uint64
		Name string
	}
	var wantEv, gotEv []ev
	for _, e := range cs.stub.Events {
		wantEv = append(wantEv, ev{uint64(e.Time.UnixNano()), e.Name})
	}
	for _, e := range s.Events() {
		gotEv = append(gotEv, ev{e.Time(), e.Name()})
	}
	if diff := cmp.Diff(wantEv, gotEv); diff != "" {
		t.Errorf("span %q: native events (-want +got):\n%s", cs.stub.Name, diff)
	}
	type ln struct {
		TraceID    string
		SpanID     uint64
		Tracestate string
		Flags      uint32
	}
	var wantLn, gotLn []ln
	for _, l := range cs.stub.Links {
		wantLn = append(wantLn, ln{l.SpanContext.TraceID().String(), sid64(l.SpanContext.SpanID()), l.SpanContext.TraceState().String(), uint32(l.SpanContext.TraceFlags()) | 1<<31})
	}
	for _, l := range s.Links() {
		tid := l.TraceID()
		var hex string
		if len(tid) == 16 {
			hex = hex16(binary.BigEndian.Uint64(tid[:8])) + hex16(binary.BigEndian.Uint64(tid[8:]))
		}
		gotLn = append(gotLn, ln{hex, l.SpanID(), l.Tracestate(), l.Flags()})
	}
	if diff := cmp.Diff(wantLn, gotLn); diff != "" {
		t.Errorf("span %q: native links (-want +got):\n%s", cs.stub.Name, diff)
	}
}
