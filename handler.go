package ddslog

import (
	"context"
	"log/slog"
	"math/bits"
	"os"
	"slices"
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
// WithGroup share nothing mutable with their parent.
type Handler struct {
	next slog.Handler // the wrapped handler, with the root-level With attributes
	// plain is next with the groups and attributes below applied the usual
	// way: records without a span context go there untouched.
	plain slog.Handler
	cfg   *config

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
}

// group is an open group and the attributes added while it was innermost.
type group struct {
	name  string
	attrs []slog.Attr // resolved
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler returns a Handler that forwards records to next. A nil opts
// gives the defaults described in HandlerOptions; environment variables are
// read now, once.
//
// A nil next is replaced by slog.DiscardHandler: records then only reach
// spans. If next is itself a *Handler, the result is next with opts instead
// of a second layer, so IDs and events are never written twice.
func NewHandler(next slog.Handler, opts *HandlerOptions) *Handler {
	cfg := newConfig(opts, os.LookupEnv)
	switch n := next.(type) {
	case nil:
		next = slog.DiscardHandler
	case *Handler:
		h := *n
		h.cfg = cfg
		return &h
	}
	return &Handler{next: next, plain: next, cfg: cfg}
}

// Handler returns the handler h forwards to, with the attributes and
// groups of h applied.
func (h *Handler) Handler() slog.Handler { return h.plain }

// Enabled reports whether the wrapped handler is enabled at level l, or
// whether a record at l would become a span event or a span error of a
// recording span in ctx.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	if h.plain.Enabled(ctx, l) {
		return true
	}
	return h.cfg.spanLevel(l) && trace.SpanFromContext(ctx).IsRecording()
}

// spanLevel reports whether a record at l is for the span.
func (c *config) spanLevel(l slog.Level) bool {
	return (c.eventLevel != nil && l >= c.eventLevel.Level()) ||
		(c.errorLevel != nil && l >= c.errorLevel.Level())
}

// Handle records r on the recording span in ctx, if any, then forwards r,
// with the correlation keys added when ctx carries a valid span context, to
// the wrapped handler if it is enabled at r's level. It returns the wrapped
// handler's error; the span work never fails.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() && h.cfg.spanLevel(r.Level) {
		h.toSpan(span, r)
	}
	if !h.plain.Enabled(ctx, r.Level) {
		return nil
	}
	sc := span.SpanContext()
	if !sc.IsValid() {
		return h.plain.Handle(ctx, r)
	}
	return h.next.Handle(ctx, h.correlate(sc, r))
}

// WithAttrs returns a Handler whose records carry attrs. Before any group
// is open they go to the wrapped handler's WithAttrs (and keep its
// pre-formatting); inside groups they are kept here and nested by Handle.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	if len(h.groups) == 0 {
		h2.next = h.next.WithAttrs(attrs)
		h2.plain = h2.next
		for _, a := range attrs {
			h2.preset |= rootKeys(a)
		}
	} else {
		h2.plain = h.plain.WithAttrs(attrs)
		h2.groups = slices.Clone(h.groups)
		last := &h2.groups[len(h2.groups)-1]
		last.attrs = slices.Clip(last.attrs)
		for _, a := range attrs {
			a.Value = a.Value.Resolve()
			last.attrs = append(last.attrs, a)
		}
	}
	if h.cfg.eventLevel != nil {
		h2.events = appendAttrs(slices.Clip(h.events), h.prefix, attrs)
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

// rootKeys returns the keys of this package that a sets at the root of a
// record, looking into inlined (empty-key) groups.
func rootKeys(a slog.Attr) keySet {
	if a.Key != "" {
		return keyBit(a.Key)
	}
	var ks keySet
	if a.Value.Kind() == slog.KindGroup {
		for _, ga := range a.Value.Group() {
			ks |= rootKeys(ga)
		}
	}
	return ks
}

// frame holds, in one allocation, the attributes of a correlated record and
// the bytes of its ID strings.
type frame struct {
	attrs [frameAttrs]slog.Attr
	ids   [maxIDBytes]byte
}

// frameAttrs is how many attributes fit in a frame: the IDs, the record's
// attributes and one per open group. It keeps a frame in a 512-byte size
// class; larger records take two allocations.
const frameAttrs = 10

// correlate returns a record with r's time, level, message, PC and
// attributes, and the correlation keys at its root. Every attribute goes in
// a single inlined (empty-key) group, so that the new record needs no
// storage beyond the frame, and the open groups are nested in that group.
func (h *Handler) correlate(sc trace.SpanContext, r slog.Record) slog.Record {
	c := h.cfg
	var want keySet
	if sc.IsValid() {
		want = keyTraceID | keySpanID | c.staticKeys
		if c.otelKeys {
			want |= keyOTelTraceID | keyOTelSpanID | keyOTelTraceFlags
		}
		want &^= h.preset
	}

	if len(h.groups) == 0 && r.NumAttrs()+bits.OnesCount8(uint8(want)) <= slogFrontAttrs {
		return h.correlateSmall(sc, r, want)
	}

	total := r.NumAttrs() + numIDKeys + len(c.static)
	for _, g := range h.groups {
		total += len(g.attrs) + 1
	}
	var (
		all []slog.Attr
		f   *frame
	)
	if total <= frameAttrs {
		f = new(frame)
		all = f.attrs[:]
	} else {
		all = make([]slog.Attr, total)
	}

	// The innermost segment first: the innermost group's attributes and
	// the record's, then each enclosing group, then the root.
	pos := 0
	start := 0
	if n := len(h.groups); n > 0 {
		pos += copy(all[pos:], h.groups[n-1].attrs)
	}
	var seen keySet
	r.Attrs(func(a slog.Attr) bool {
		all[pos] = a
		pos++
		if len(h.groups) == 0 {
			seen |= rootKeys(a)
		}
		return true
	})
	want &^= seen
	for i := len(h.groups) - 1; i >= 0; i-- {
		inner := all[start:pos]
		start = pos
		if i > 0 {
			pos += copy(all[pos:], h.groups[i-1].attrs)
		}
		if len(inner) > 0 { // slog handlers drop empty groups
			all[pos] = slog.Attr{Key: h.groups[i].name, Value: slog.GroupValue(inner...)}
			pos++
		}
	}

	if want != 0 {
		var ends [numIDKeys]int
		var ids string
		if f != nil {
			b := c.appendIDs(f.ids[:0], sc, want, &ends)
			// f.ids is never written again, and the strings keep f alive.
			ids = unsafe.String(unsafe.SliceData(b), len(b))
		} else {
			var buf [maxIDBytes]byte
			ids = string(c.appendIDs(buf[:0], sc, want, &ends))
		}
		from := 0
		for i, k := range idKeys {
			if want&k.bit != 0 {
				all[pos] = slog.String(k.key, ids[from:ends[i]])
				pos++
			}
			from = ends[i]
		}
		for _, a := range c.static {
			if want&keyBit(a.Key) != 0 {
				all[pos] = a
				pos++
			}
		}
	}

	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	if root := all[start:pos]; len(root) > 0 {
		nr.AddAttrs(slog.Attr{Value: slog.GroupValue(root...)})
	}
	return nr
}

// slogFrontAttrs is how many attributes a slog.Record stores inline: up to
// that many, adding attributes to a copy of a record allocates nothing.
const slogFrontAttrs = 5

// correlateSmall is correlate for a record with no open group and few
// attributes: the IDs are appended to a copy of r, and their strings are the
// only allocation.
func (h *Handler) correlateSmall(sc trace.SpanContext, r slog.Record, want keySet) slog.Record {
	r.Attrs(func(a slog.Attr) bool {
		want &^= rootKeys(a)
		return true
	})
	if want == 0 {
		return r
	}
	c := h.cfg
	var ends [numIDKeys]int
	var buf [maxIDBytes]byte
	ids := string(c.appendIDs(buf[:0], sc, want, &ends))
	var add [numIDKeys + 3]slog.Attr
	n, from := 0, 0
	for i, k := range idKeys {
		if want&k.bit != 0 {
			add[n] = slog.String(k.key, ids[from:ends[i]])
			n++
		}
		from = ends[i]
	}
	for _, a := range c.static {
		if want&keyBit(a.Key) != 0 {
			add[n] = a
			n++
		}
	}
	// r holds all its attributes inline (see the caller), so the copy
	// shares no storage with the caller's record.
	r.AddAttrs(add[:n]...)
	return r
}
