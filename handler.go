package ddslog

import (
	"context"
	"log/slog"
	"math/bits"
	"os"
	"slices"
	"sync"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Handler is a slog.Handler that correlates records with the OpenTelemetry
// span in their context and forwards them to another handler.
//
// For a record whose context carries a valid span context (sampled or not),
// it writes dd.trace_id and dd.span_id (and, as configured, dd.service,
// dd.env, dd.version and the OpenTelemetry hex keys) at the root of the
// record, also when groups are open. When that span is recording, the record
// is added to it as a span event, and an error record marks it as failed.
//
// A Handler is safe for concurrent use. Handlers derived with WithAttrs and
// WithGroup never change their parent or their siblings: what they share
// with them is immutable, apart from the wrapped handler with dd.service,
// dd.env and dd.version pre-formatted, which is built once, on first use,
// under a sync.Once.
type Handler struct {
	next slog.Handler // the wrapped handler, with the root-level With attributes
	// plain is next with the groups and attributes below applied the usual
	// way: records without a span context go there untouched.
	plain slog.Handler
	// static is next with dd.service/env/version pre-formatted, made on
	// first use; nil when no such key is to be written.
	static *staticNext
	cfg    *config

	// preset are the keys of this package that WithAttrs set at the root:
	// they are not written again.
	preset keySet

	// groups are the groups opened by WithGroup, outermost first. The
	// wrapped handler never sees them: Handle nests the record's
	// attributes in them itself, so that the IDs stay at the root.
	groups []group
	// prefix is groups as a span event key prefix: "g.h.".
	prefix string
	// events are the WithAttrs attributes, converted for span events.
	events []attribute.KeyValue
	// err is the first error value among the WithAttrs attributes: the
	// error of error records that carry none themselves.
	err error
}

// group is an open group and the attributes added while it was innermost.
type group struct {
	name  string
	attrs []slog.Attr // resolved, without empty attributes or groups
}

// staticNext builds, once, a handler with the static keys pre-formatted.
type staticNext struct {
	once  sync.Once
	base  slog.Handler
	attrs []slog.Attr
	h     slog.Handler
}

func (s *staticNext) handler() slog.Handler {
	s.once.Do(func() { s.h = s.base.WithAttrs(s.attrs) })
	return s.h
}

// newStatic returns the staticNext for next, or nil when every static key
// is preset.
func newStatic(c *config, next slog.Handler, preset keySet) *staticNext {
	if c.staticKeys&^preset == 0 {
		return nil
	}
	s := &staticNext{base: next}
	for _, a := range c.static {
		if preset&keyBit(a.Key) == 0 {
			s.attrs = append(s.attrs, a)
		}
	}
	return s
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler returns a Handler that forwards records to next. A nil opts
// gives the defaults described in HandlerOptions; environment variables are
// read now, once.
//
// A nil next (a nil *Handler too) is replaced by slog.DiscardHandler:
// records then only reach spans. If next is itself a *Handler, the result
// is next with opts instead of a second layer, so IDs and events are never
// written twice. Groups
// opened on next before it is wrapped are out of the Handler's reach: the
// IDs go inside them.
func NewHandler(next slog.Handler, opts *HandlerOptions) *Handler {
	cfg := newConfig(opts, os.LookupEnv)
	switch n := next.(type) {
	case nil:
		next = slog.DiscardHandler
	case *Handler:
		if n == nil {
			next = slog.DiscardHandler
			break
		}
		h := *n
		h.cfg = cfg
		h.static = newStatic(cfg, h.next, h.preset)
		return &h
	}
	return &Handler{next: next, plain: next, cfg: cfg, static: newStatic(cfg, next, 0)}
}

// Handler returns the handler h forwards to, with the attributes and
// groups of h applied.
func (h *Handler) Handler() slog.Handler { return h.plain }

// Enabled reports whether the wrapped handler is enabled at level l, or
// whether a record at l would become a span event or a span error of a
// recording span in ctx.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	c := h.cfg
	if l < c.spanFloor {
		// No span takes the record: the wrapped handler alone decides.
		return h.plain.Enabled(ctx, l)
	}
	if h.plain.Enabled(ctx, l) {
		return true
	}
	return (c.eventLevel.allows(l) || c.errorLevel.allows(l)) && trace.SpanFromContext(ctx).IsRecording()
}

// spanLevels reports whether a record at l becomes a span event, and
// whether it is a span error.
func (c *config) spanLevels(l slog.Level) (event, err bool) {
	return c.eventLevel.allows(l), c.errorLevel.allows(l)
}

// Handle records r on the recording span in ctx, if any, then forwards r,
// with the correlation keys added when ctx carries a valid span context, to
// the wrapped handler if it is enabled at r's level. It returns the wrapped
// handler's error; the span work never fails.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	span := trace.SpanFromContext(ctx)
	sc := span.SpanContext()
	valid := sc.IsValid()
	if span.IsRecording() {
		if ev, er := h.cfg.spanLevels(r.Level); ev || er {
			h.toSpan(span, r, ev, er)
		}
	} else if !valid {
		// No span: Enabled said yes for the wrapped handler.
		return h.plain.Handle(ctx, r)
	}
	// Enabled may have said yes for the span alone, and the span may have
	// stopped recording since: the wrapped handler's level decides.
	if !h.plain.Enabled(ctx, r.Level) {
		return nil
	}
	if !valid {
		return h.plain.Handle(ctx, r)
	}
	return h.correlate(ctx, sc, &r)
}

// WithAttrs returns a Handler whose records carry attrs. Before any group
// is open they go to the wrapped handler's WithAttrs (and keep its
// pre-formatting); inside groups they are kept here and nested by Handle.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	// Resolved once, here, for the wrapped handler, the nested copy and the
	// span events alike.
	attrs = appendResolved(nil, attrs)
	h2 := *h
	if len(h.groups) == 0 {
		h2.next = h.next.WithAttrs(attrs)
		h2.plain = h2.next
		for _, a := range attrs {
			h2.preset |= rootKeys(a)
		}
		h2.static = newStatic(h.cfg, h2.next, h2.preset)
	} else {
		h2.plain = h.plain.WithAttrs(attrs)
		h2.groups = slices.Clone(h.groups)
		last := &h2.groups[len(h2.groups)-1]
		last.attrs = append(slices.Clip(last.attrs), attrs...)
	}
	h2.events = appendAttrs(slices.Clip(h.events), h.prefix, attrs)
	if h2.err == nil {
		h2.err = findError(slices.Values(attrs))
	}
	return &h2
}

// WithGroup returns a Handler that nests the attributes that follow in the
// group name. The correlation keys stay at the root. WithGroup("") returns h.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.plain = h.plain.WithGroup(name)
	h2.groups = append(slices.Clip(h.groups), group{name: name})
	h2.prefix = h.prefix + name + "."
	return &h2
}

// appendResolved appends attrs to dst with their values resolved, in groups
// too, and without the empty attributes and empty groups slog handlers
// drop, as slog's own handlers do once in WithAttrs.
func appendResolved(dst, attrs []slog.Attr) []slog.Attr {
	for _, a := range attrs {
		a.Value = a.Value.Resolve()
		if a.Value.Kind() == slog.KindGroup {
			members := appendResolved(nil, a.Value.Group())
			if len(members) == 0 {
				continue
			}
			a.Value = slog.GroupValue(members...)
		} else if a.Equal(slog.Attr{}) {
			continue
		}
		dst = append(dst, a)
	}
	return dst
}

// rootKeys returns the keys of this package that a sets at the root of a
// record, looking into inlined (empty-key) groups, LogValuers resolved. A
// key whose value slog's handlers drop (a group of nothing they write) is
// not set: the Handler writes its own.
func rootKeys(a slog.Attr) keySet {
	if a.Key != "" {
		k := keyBit(a.Key)
		if k != 0 && !groupWritten(a.Value.Resolve()) {
			return 0
		}
		return k
	}
	var ks keySet
	if v := a.Value.Resolve(); v.Kind() == slog.KindGroup {
		for _, ga := range v.Group() {
			ks |= rootKeys(ga)
		}
	}
	return ks
}

// groupWritten reports whether slog's handlers write a resolved value under
// its key: any value but a group none of whose attributes they write.
func groupWritten(v slog.Value) bool {
	if v.Kind() != slog.KindGroup {
		return true
	}
	for _, a := range v.Group() {
		if attrWritten(a) {
			return true
		}
	}
	return false
}

// attrWritten reports whether slog's handlers count a, a group's attribute,
// as written: not when it is empty, and not when it is a non-empty group of
// such attributes. An empty group counts, as it does in log/slog (whose
// handlers then write the enclosing group as {}).
func attrWritten(a slog.Attr) bool {
	a.Value = a.Value.Resolve()
	if a.Value.Kind() != slog.KindGroup {
		return !a.Equal(slog.Attr{})
	}
	return len(a.Value.Group()) == 0 || groupWritten(a.Value)
}

// Frames hold, in one allocation, the attributes of a correlated record
// that do not go in a new record's inline storage, and the bytes of its ID
// strings. There are three sizes, so that a small record does not pay for
// allocating and zeroing a large frame; larger records take two
// allocations.
type (
	smallFrame struct {
		attrs [4]slog.Attr
		ids   [maxIDBytes]byte
	}
	mediumFrame struct {
		attrs [8]slog.Attr
		ids   [maxIDBytes]byte
	}
	largeFrame struct {
		attrs [14]slog.Attr
		ids   [maxIDBytes]byte
	}
)

// slogFrontAttrs is how many attributes a slog.Record stores inline: up to
// that many, adding attributes to a copy of a record allocates nothing.
const slogFrontAttrs = 5

// idBits are the ID keys c writes.
func (c *config) idBits() keySet {
	if c.otelKeys {
		return keyTraceID | keySpanID | keyOTelTraceID | keyOTelSpanID | keyOTelTraceFlags
	}
	return keyTraceID | keySpanID
}

// correlate forwards r, with the correlation keys at its root, to the
// wrapped handler. The keys go before the record's attributes, as they
// would from WithAttrs.
//
// The common case has a path of its own: no open group, only dd.trace_id
// and dd.span_id to write per record (dd.service, dd.env and dd.version
// are pre-formatted in h.static), a record that sets none of these keys
// itself, with at most maxPairAttrs attributes. A new record then holds
// the IDs and the record's attributes in its inline storage, the
// attributes that do not fit there in an inlined (empty-key) group in a
// pairFrame; the ID strings or the frame are the only allocation.
func (h *Handler) correlate(ctx context.Context, sc trace.SpanContext, r *slog.Record) error {
	c := h.cfg
	nattrs := r.NumAttrs()
	if len(h.groups) > 0 || c.idBits()&^h.preset != keyTraceID|keySpanID || nattrs > maxPairAttrs {
		return h.correlateAny(ctx, sc, r)
	}
	var front [slogFrontAttrs]slog.Attr
	var f *pairFrame
	var traceID, spanID string
	if nattrs <= slogFrontAttrs-2 {
		traceID, spanID = ddIDs(sc, c.traceID128)
	} else {
		f = new(pairFrame) // never pooled or reused: the ID strings point into it
		traceID, spanID = frameIDPair(f.ids[:0], sc, c.traceID128)
	}
	front[0] = slog.String(TraceIDKey, traceID)
	front[1] = slog.String(SpanIDKey, spanID)
	n, rest, seen := 2, 0, keySet(0)
	for a := range r.Attrs {
		seen |= rootKeys(a)
		if f == nil || n < slogFrontAttrs-1 {
			front[n] = a
			n++
		} else {
			f.rest[rest] = a
			rest++
		}
	}
	if seen&(keyTraceID|keySpanID|c.staticKeys) != 0 {
		// The record sets one of the keys itself: rare enough for the
		// general path, which knows which keys to leave out.
		return h.correlateAny(ctx, sc, r)
	}
	if f != nil {
		front[n] = slog.Attr{Value: slog.GroupValue(f.rest[:rest]...)}
		n++
	}
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	nr.AddAttrs(front[:n]...) // all inline: no allocation
	next := h.next
	if h.static != nil {
		next = h.static.handler()
	}
	return next.Handle(ctx, nr)
}

// pairFrame holds, in one allocation, the attributes of a record that do
// not fit in a new record's inline storage beside dd.trace_id and
// dd.span_id, and the bytes of those two IDs.
type pairFrame struct {
	rest [6]slog.Attr
	ids  [maxPairIDBytes]byte
}

// maxPairAttrs is the most attributes correlate's common path takes: two
// beside the IDs in the record's inline storage, the rest in a pairFrame.
const maxPairAttrs = slogFrontAttrs - 3 + len(pairFrame{}.rest)

// correlateAny is correlate for every record. Without open groups, when
// the keys and the record's attributes fit in a record's inline storage, a
// new record holds them all and the keys' strings are the only allocation.
// Otherwise the attributes below the root go in one frame: with groups
// open, the open groups nested in one another, the outermost at the root
// of the new record beside the keys; without, or with more keys than the
// root can hold, every attribute in a single inlined (empty-key) group.
// The static keys are pre-formatted in h.static, unless the record sets one
// of them itself.
func (h *Handler) correlateAny(ctx context.Context, sc trace.SpanContext, r *slog.Record) error {
	c := h.cfg
	want := c.idBits() &^ h.preset
	static := c.staticKeys &^ h.preset
	var seen keySet
	if len(h.groups) == 0 && r.NumAttrs() > 0 {
		r.Attrs(func(a slog.Attr) bool {
			seen |= rootKeys(a)
			return true
		})
		want &^= seen
	}
	next := h.next
	if static != 0 && seen&static == 0 {
		next = h.static.handler()
		static = 0
	}
	want |= static &^ seen

	if want == 0 && len(h.groups) == 0 {
		return next.Handle(ctx, *r)
	}
	k := bits.OnesCount8(uint8(want))
	if len(h.groups) == 0 && r.NumAttrs()+k <= slogFrontAttrs {
		var buf [maxIDBytes]byte
		var front [slogFrontAttrs]slog.Attr
		ids, ends := c.appendIDs(buf[:0], sc, want)
		n := h.idAttrs(front[:], string(ids), &ends, want)
		r.Attrs(func(a slog.Attr) bool {
			front[n] = a
			n++
			return true
		})
		nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		nr.AddAttrs(front[:n]...) // all inline: no allocation
		return next.Handle(ctx, nr)
	}

	// The root is the keys, then the record's attributes or, with groups
	// open, the outermost group. It goes in the new record's inline storage
	// when it fits, else in the frame too.
	rootInline := len(h.groups) > 0 && k+1 <= slogFrontAttrs
	total := r.NumAttrs()
	for _, g := range h.groups {
		total += len(g.attrs) + 1
	}
	if rootInline {
		total-- // the outermost group
	} else {
		total += k
	}
	var all []slog.Attr
	var ids string
	var ends [numIDKeys]int
	// Frames are never pooled or reused: the ID strings point into them.
	switch {
	case total <= len(smallFrame{}.attrs):
		f := new(smallFrame)
		all = f.attrs[:]
		ids, ends = c.frameIDs(f.ids[:0], sc, want)
	case total <= len(mediumFrame{}.attrs):
		f := new(mediumFrame)
		all = f.attrs[:]
		ids, ends = c.frameIDs(f.ids[:0], sc, want)
	case total <= len(largeFrame{}.attrs):
		f := new(largeFrame)
		all = f.attrs[:]
		ids, ends = c.frameIDs(f.ids[:0], sc, want)
	default:
		all = make([]slog.Attr, total)
		var buf [maxIDBytes]byte
		b, e := c.appendIDs(buf[:0], sc, want)
		ids, ends = string(b), e
	}

	// The keys come first, before the record's attributes, as they would
	// from WithAttrs. The innermost segment is built first: the innermost
	// group's attributes and the record's, then each enclosing group, then
	// the root.
	pos, start := 0, 0
	if n := len(h.groups); n > 0 {
		pos += copy(all, h.groups[n-1].attrs)
	} else {
		pos += h.idAttrs(all, ids, &ends, want)
	}
	r.Attrs(func(a slog.Attr) bool {
		all[pos] = a
		pos++
		return true
	})
	for i := len(h.groups) - 1; i > 0; i-- {
		inner := all[start:pos]
		start = pos
		pos += copy(all[pos:], h.groups[i-1].attrs)
		if len(inner) > 0 { // slog handlers drop empty groups
			all[pos] = slog.Attr{Key: h.groups[i].name, Value: slog.GroupValue(inner...)}
			pos++
		}
	}
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	if len(h.groups) == 0 {
		nr.AddAttrs(slog.Attr{Value: slog.GroupValue(all[:pos]...)})
		return next.Handle(ctx, nr)
	}
	// The root: the keys and the outermost group, unless it is empty
	// (slog handlers drop empty groups).
	inner := all[start:pos]
	outer := slog.Attr{Key: h.groups[0].name, Value: slog.GroupValue(inner...)}
	if rootInline {
		var front [slogFrontAttrs]slog.Attr
		n := h.idAttrs(front[:], ids, &ends, want)
		if len(inner) > 0 {
			front[n] = outer
			n++
		}
		nr.AddAttrs(front[:n]...) // inline: no allocation
	} else {
		n := h.idAttrs(all[pos:], ids, &ends, want)
		if len(inner) > 0 {
			all[pos+n] = outer
			n++
		}
		nr.AddAttrs(slog.Attr{Value: slog.GroupValue(all[pos : pos+n]...)})
	}
	return next.Handle(ctx, nr)
}

// frameIDs writes the ID values into a frame's bytes and returns them as a
// string that shares the frame's memory: the bytes are never written again,
// and the string keeps the frame alive. Frames are therefore never pooled
// or reused.
func (c *config) frameIDs(dst []byte, sc trace.SpanContext, want keySet) (string, [numIDKeys]int) {
	b, ends := c.appendIDs(dst, sc, want)
	return unsafe.String(unsafe.SliceData(b), len(b)), ends
}

// frameIDPair is frameIDs for the Datadog trace and span IDs alone.
func frameIDPair(dst []byte, sc trace.SpanContext, full128 bool) (traceID, spanID string) {
	b, n := appendIDPair(dst, sc, full128)
	s := unsafe.String(unsafe.SliceData(b), len(b))
	return s[:n], s[n:]
}

// idAttrs writes the attributes of the keys in want to dst, their values
// cut from ids at ends, and returns how many it wrote.
func (h *Handler) idAttrs(dst []slog.Attr, ids string, ends *[numIDKeys]int, want keySet) int {
	n, from := 0, 0
	for i, k := range idKeys {
		if want&k.bit != 0 {
			dst[n] = slog.String(k.key, ids[from:ends[i]])
			n++
		}
		from = ends[i]
	}
	for _, a := range h.cfg.static {
		if want&keyBit(a.Key) != 0 {
			dst[n] = a
			n++
		}
	}
	return n
}
