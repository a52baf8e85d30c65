package ddprop

import (
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"
)

const (
	// stateKey is the W3C tracestate list-member key Datadog tracers own.
	stateKey = "dd"
	// tagPrefix starts every propagated Datadog trace tag.
	tagPrefix = "_dd.p."
	// tidKey carries the high 64 bits of a 128-bit trace ID in x-datadog-tags.
	tidKey = "_dd.p.tid"
	// dmKey is the sampling decision maker.
	dmKey = "_dd.p.dm"
	// maxMemberLen bounds the whole "dd=..." list-member, as Datadog tracers do.
	maxMemberLen = 256
)

// Tag is one propagated Datadog trace tag, such as _dd.p.dm=-4.
type Tag struct {
	// Key is the full tag key, starting with "_dd.p.".
	Key string
	// Value is the decoded tag value.
	Value string
}

// State is the Datadog data carried by the dd= list-member of a W3C
// tracestate (see the package documentation for the exact format).
//
// The zero value carries nothing.
type State struct {
	// Priority is the sampling priority: -1 user reject, 0 auto reject,
	// 1 auto keep, 2 user keep. It is meaningful only when HasPriority is set.
	Priority int
	// HasPriority reports whether a sampling priority is carried.
	HasPriority bool
	// Origin is the trace origin (such as "synthetics"), or "".
	Origin string
	// LastParent is the ID of the last Datadog span on the trace's path, or
	// the zero SpanID when unknown.
	LastParent trace.SpanID
	// Tags are the propagated trace tags, with keys starting with "_dd.p.".
	// _dd.p.tid is never among them: the high bits are the trace ID itself.
	Tags []Tag
}

// ParseState returns the Datadog state carried by the dd= member of ts, and
// whether ts has such a member. Unknown or malformed fields are skipped.
func ParseState(ts trace.TraceState) (State, bool) {
	v := ts.Get(stateKey)
	if v == "" {
		return State{}, false
	}
	st, _, _ := parseStateValue(v)
	return st, true
}

// Tag returns the value of the propagated tag key (such as "_dd.p.dm").
func (s State) Tag(key string) (string, bool) {
	for _, t := range s.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// SetTag sets the propagated tag key to value, replacing an existing one.
// Keys that do not start with "_dd.p.", _dd.p.tid and empty values are
// ignored. SetTag never modifies the slice s.Tags was built on.
func (s *State) SetTag(key, value string) {
	if !strings.HasPrefix(key, tagPrefix) || len(key) == len(tagPrefix) || key == tidKey || value == "" {
		return
	}
	for i, t := range s.Tags {
		if t.Key == key {
			tags := make([]Tag, len(s.Tags))
			copy(tags, s.Tags)
			tags[i].Value = value
			s.Tags = tags
			return
		}
	}
	s.Tags = append(s.Tags[:len(s.Tags):len(s.Tags)], Tag{Key: key, Value: value})
}

// DeleteTag removes the propagated tag key. It never modifies the slice
// s.Tags was built on.
func (s *State) DeleteTag(key string) {
	for i, t := range s.Tags {
		if t.Key == key {
			tags := make([]Tag, 0, len(s.Tags)-1)
			tags = append(tags, s.Tags[:i]...)
			s.Tags = append(tags, s.Tags[i+1:]...)
			return
		}
	}
}

// String returns the value of the dd= list-member for s, without the "dd="
// key: "s:<priority>;o:<origin>;p:<16 hex>;t.<key>:<value>...", each field
// present only when set. Tags that would take the member past Datadog's
// 256-byte limit are left out, with all the tags after them, except the
// decision maker _dd.p.dm, whose room is kept; so is an origin too long to
// leave room for p:.
func (s State) String() string {
	b, _ := s.appendValue(make([]byte, 0, 64))
	return string(b)
}

// appendValue appends the member value String returns, and reports whether
// tags were left out for lack of room.
func (s State) appendValue(b []byte) (_ []byte, truncated bool) {
	start := len(b)
	sep := func(b []byte) []byte {
		if len(b) > start {
			b = append(b, ';')
		}
		return b
	}
	if s.HasPriority {
		b = append(b, "s:"...)
		b = strconv.AppendInt(b, int64(s.Priority), 10)
	}
	if s.Origin != "" {
		mark := len(b)
		b = sep(b)
		b = append(b, "o:"...)
		b = appendSanitized(b, s.Origin, originClass)
		room := maxMemberLen
		if s.LastParent.IsValid() {
			room -= len(";p:") + 2*len(s.LastParent)
		}
		if len(stateKey)+1+len(b)-start > room {
			b = b[:mark] // an origin that long is not one Datadog knows
		}
	}
	if s.LastParent.IsValid() {
		b = sep(b)
		b = append(b, "p:"...)
		b = hex.AppendEncode(b, s.LastParent[:])
	}
	// Tags go in order, but the room the decision maker needs is kept for
	// it: it is the tag Datadog needs most, and a long tag before it must
	// not crowd it out.
	dm, _ := s.Tag(dmKey)
	dmDone := dm == ""
	for _, t := range s.Tags {
		if !strings.HasPrefix(t.Key, tagPrefix) || t.Key == tidKey || len(t.Key) == len(tagPrefix) || t.Value == "" {
			continue
		}
		isDM := t.Key == dmKey
		if isDM && dmDone {
			continue
		}
		reserve := 0
		if !dmDone && !isDM {
			reserve = len(";t.dm:") + len(dm) // sanitizing never lengthens
		}
		mark := len(b)
		b = appendTag(sep(b), t)
		if len(stateKey)+1+len(b)-start+reserve > maxMemberLen {
			b = b[:mark]
			truncated = true
			break
		}
		dmDone = dmDone || isDM
	}
	if !dmDone {
		mark := len(b)
		b = appendTag(sep(b), Tag{Key: dmKey, Value: dm})
		if len(stateKey)+1+len(b)-start > maxMemberLen {
			b = b[:mark]
			truncated = true
		}
	}
	// A tracestate value may not end with a space.
	if n := len(b); n > start && b[n-1] == ' ' {
		b[n-1] = '_'
	}
	return b, truncated
}

// appendTag appends the field of the propagated tag t.
func appendTag(b []byte, t Tag) []byte {
	b = append(b, "t."...)
	b = appendSanitized(b, t.Key[len(tagPrefix):], keyClass)
	b = append(b, ':')
	return appendSanitized(b, t.Value, valueClass)
}

// Insert returns ts with its dd= member replaced by s, first in the list as
// the W3C specification asks of a member a vendor updates. Other vendors'
// members are kept. A State that carries nothing removes the dd= member.
func (s State) Insert(ts trace.TraceState) (trace.TraceState, error) {
	ts, _, err := s.insert(ts)
	return ts, err
}

// insert is Insert that also reports whether tags were left out for lack of
// room in the member.
func (s State) insert(ts trace.TraceState) (_ trace.TraceState, truncated bool, err error) {
	b, truncated := s.appendValue(make([]byte, 0, 64))
	if len(b) == 0 {
		return ts.Delete(stateKey), truncated, nil
	}
	ts, err = ts.Insert(stateKey, string(b))
	return ts, truncated, err
}

// parseStateValue decodes a dd= member value. It also returns the t.tid
// field, which State does not carry, and whether there was one.
func parseStateValue(v string) (st State, tid string, hasTID bool) {
	for field := range strings.SplitSeq(v, ";") {
		k, val, ok := strings.Cut(field, ":")
		if !ok {
			continue
		}
		switch {
		case k == "s":
			if p, err := strconv.Atoi(val); err == nil {
				st.Priority, st.HasPriority = p, true
			}
		case k == "o":
			if val != "" {
				st.Origin = decodeValue(val)
			}
		case k == "p":
			if id, ok := parseHexSpanID(val); ok {
				st.LastParent = id
			}
		case strings.HasPrefix(k, "t.") && len(k) > 2 && val != "":
			key := tagPrefix + k[2:]
			if key == tidKey {
				tid, hasTID = val, true
				continue
			}
			st.SetTag(key, decodeValue(val))
		}
	}
	return st, tid, hasTID
}

// parseHexSpanID parses 16 hexadecimal digits (either case) into a non-zero
// span ID.
func parseHexSpanID(s string) (trace.SpanID, bool) {
	var id trace.SpanID
	if len(s) != 16 {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return trace.SpanID{}, false
	}
	return id, id.IsValid()
}

// decodeValue undoes the one reversible substitution of the encoding: "~"
// stands for "=".
func decodeValue(s string) string {
	if !strings.Contains(s, "~") {
		return s
	}
	return strings.ReplaceAll(s, "~", "=")
}

// Character classes for appendSanitized: what a byte becomes.
const (
	keep     = 0    // copied as is
	collapse = 0xFF // a run of such bytes (and non-ASCII runes) becomes one '_'
)

// keyClass encodes a tag key suffix: printable ASCII except the characters
// that delimit the member (",", "=", ";", ":", "~") and space.
func keyClass(c byte) byte {
	switch {
	case c <= ' ' || c == 0x7F:
		return collapse
	case c == ',' || c == '=' || c == ';' || c == ':' || c == '~':
		return '_'
	}
	return keep
}

// valueClass encodes a tag value the way Datadog tracers do: "=" becomes
// "~"; ",", ";" and "~" become "_"; control characters and non-ASCII runs
// become one "_".
func valueClass(c byte) byte {
	switch {
	case c < ' ' || c == 0x7F:
		return collapse
	case c == ',' || c == ';' || c == '~':
		return '_'
	case c == '=':
		return '~'
	}
	return keep
}

// originClass is valueClass with spaces collapsed too.
func originClass(c byte) byte {
	if c == ' ' {
		return collapse
	}
	return valueClass(c)
}

func appendSanitized(b []byte, s string, class func(byte) byte) []byte {
	inRun := false
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			_, size := utf8.DecodeRuneInString(s[i:])
			if !inRun {
				b = append(b, '_')
				inRun = true
			}
			i += size
			continue
		}
		switch r := class(c); r {
		case keep:
			b = append(b, c)
			inRun = false
		case collapse:
			if !inRun {
				b = append(b, '_')
				inRun = true
			}
		default:
			b = append(b, r)
			inRun = false
		}
		i++
	}
	return b
}

// SamplingPriority returns the Datadog sampling priority carried by the dd=
// member of sc's tracestate, and whether there is one.
func SamplingPriority(sc trace.SpanContext) (int, bool) {
	st, _ := ParseState(sc.TraceState())
	return st.Priority, st.HasPriority
}

// Origin returns the trace origin carried by the dd= member of sc's
// tracestate, and whether there is one.
func Origin(sc trace.SpanContext) (string, bool) {
	st, _ := ParseState(sc.TraceState())
	return st.Origin, st.Origin != ""
}

// LastParent returns the last Datadog parent span ID carried by the dd=
// member of sc's tracestate, and whether there is one.
func LastParent(sc trace.SpanContext) (trace.SpanID, bool) {
	st, _ := ParseState(sc.TraceState())
	return st.LastParent, st.LastParent.IsValid()
}

// PropagatedTag returns the value of the propagated trace tag key (such as
// "_dd.p.dm") carried by the dd= member of sc's tracestate.
func PropagatedTag(sc trace.SpanContext, key string) (string, bool) {
	st, _ := ParseState(sc.TraceState())
	return st.Tag(key)
}

// defaultDecisionMaker is the _dd.p.dm of a trace kept by default: the
// OpenTelemetry SDK's sampler decided, not a Datadog rule or agent rate.
const defaultDecisionMaker = "-0"

// outgoing returns the state to inject for a span context with the given
// state and flags. The carried priority goes out when it agrees with the
// sampled flag; otherwise the flag decides (see priorityFor), and the
// decision maker follows the decision as Datadog tracers settle it: a keep
// is made by default (_dd.p.dm -0, unless one came without a priority), and
// a reject that replaces a carried keep has none.
func outgoing(st State, flags trace.TraceFlags) State {
	p := priorityFor(st, flags)
	carried, overridden := st.HasPriority, st.HasPriority && p != st.Priority
	st.Priority, st.HasPriority = p, true
	switch {
	case overridden && p > 0:
		st.SetTag(dmKey, defaultDecisionMaker)
	case overridden:
		st.DeleteTag(dmKey)
	case !carried && p > 0:
		if dm, _ := st.Tag(dmKey); dm == "" {
			st.SetTag(dmKey, defaultDecisionMaker)
		}
	}
	return st
}

// priorityFor returns the sampling priority to send for a span context with
// the given state and flags. The sampled flag is the decision the
// OpenTelemetry SDK acted on, so a carried priority that disagrees with it
// gives way to 1 (sampled) or 0 (not sampled).
func priorityFor(st State, flags trace.TraceFlags) int {
	sampled := flags.IsSampled()
	if st.HasPriority && (st.Priority > 0) == sampled {
		return st.Priority
	}
	if sampled {
		return 1
	}
	return 0
}
