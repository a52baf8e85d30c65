package ddprop

import (
	"context"
	"slices"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Style is a propagation style, as named by DD_TRACE_PROPAGATION_STYLE.
type Style uint8

// The supported propagation styles.
const (
	// StyleDatadog is Datadog's x-datadog-* headers ([Datadog]).
	StyleDatadog Style = iota + 1
	// StyleTraceContext is W3C traceparent and tracestate with the dd=
	// member ([TraceContext]).
	StyleTraceContext
	// StyleBaggage is the W3C baggage header ([propagation.Baggage]).
	StyleBaggage
	// StyleB3Multi is the B3 multiple headers X-B3-TraceId, X-B3-SpanId and
	// X-B3-Sampled ([B3Multi]).
	StyleB3Multi
	// StyleB3 is the B3 single header b3 ([B3]).
	StyleB3
)

// String returns the style's name in DD_TRACE_PROPAGATION_STYLE:
// "datadog", "tracecontext", "baggage", "b3multi" or "b3 single header".
func (s Style) String() string {
	switch s {
	case StyleDatadog:
		return "datadog"
	case StyleTraceContext:
		return "tracecontext"
	case StyleBaggage:
		return "baggage"
	case StyleB3Multi:
		return "b3multi"
	case StyleB3:
		return "b3 single header"
	}
	return "unknown"
}

// defaultStyles are Datadog tracers' defaults, for injection and extraction.
var defaultStyles = [...]Style{StyleDatadog, StyleTraceContext, StyleBaggage}

// Propagator is a [propagation.TextMapPropagator] combining styles the way
// Datadog tracers do. Inject writes every inject style. Extract reads
// baggage (when it is an extract style) and the trace context of the first
// extract style that yields a valid one; a later tracecontext style then
// still contributes, as in Datadog tracers, when its traceparent has the
// same trace ID:
//
//   - its tracestate's other vendors' members are kept, with the dd= member
//     made from the winning style's data;
//   - when its parent span ID differs and the Datadog headers (datadog
//     being an extract style) hold a valid context, the traceparent's
//     parent becomes the parent, and the Datadog parent is kept as the dd=
//     member's p: (the traceparent's own p: when it has one), which Datadog
//     records as _dd.parent_id. When the winning style is datadog, that is
//     its own parent; when it is b3 or b3multi, it is the parent in the
//     x-datadog-* headers, and without valid ones the b3 parent stays.
//
// Any other later style is ignored, whatever its trace ID: the first style
// wins.
//
// The zero value propagates nothing; use [New] or [FromEnv].
type Propagator struct {
	inject, extract []Style
}

var _ propagation.TextMapPropagator = (*Propagator)(nil)

// Option configures a [Propagator] made by [New].
type Option interface {
	apply(*Propagator)
}

type optionFunc func(*Propagator)

func (f optionFunc) apply(p *Propagator) { f(p) }

// WithInjectStyles sets the styles Inject writes, in order. No styles means
// none ("none" in DD_TRACE_PROPAGATION_STYLE_INJECT). Duplicates and unknown
// values are ignored.
func WithInjectStyles(styles ...Style) Option {
	return optionFunc(func(p *Propagator) { p.inject = cleanStyles(styles) })
}

// WithExtractStyles sets the styles Extract reads, in order of precedence.
// No styles means none. Duplicates and unknown values are ignored.
func WithExtractStyles(styles ...Style) Option {
	return optionFunc(func(p *Propagator) { p.extract = cleanStyles(styles) })
}

// New returns a Propagator. By default it injects and extracts datadog,
// tracecontext and baggage, in that order, as Datadog tracers do.
func New(opts ...Option) *Propagator {
	p := &Propagator{inject: defaultStyles[:], extract: defaultStyles[:]}
	for _, o := range opts {
		o.apply(p)
	}
	return p
}

func cleanStyles(styles []Style) []Style {
	out := make([]Style, 0, len(styles))
	for _, s := range styles {
		if s >= StyleDatadog && s <= StyleB3 && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// InjectStyles returns the styles Inject writes, in order.
func (p *Propagator) InjectStyles() []Style { return slices.Clone(p.inject) }

// ExtractStyles returns the styles Extract reads, in order of precedence.
func (p *Propagator) ExtractStyles() []Style { return slices.Clone(p.extract) }

// Inject writes the span context and baggage in ctx with every inject style.
func (p *Propagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	for _, s := range p.inject {
		switch s {
		case StyleDatadog:
			Datadog{}.Inject(ctx, carrier)
		case StyleTraceContext:
			TraceContext{}.Inject(ctx, carrier)
		case StyleBaggage:
			propagation.Baggage{}.Inject(ctx, carrier)
		case StyleB3Multi:
			B3Multi{}.Inject(ctx, carrier)
		case StyleB3:
			B3{}.Inject(ctx, carrier)
		}
	}
}

// Extract returns ctx with the baggage and the remote span context found in
// carrier, as described on [Propagator]. Without a valid trace context in
// carrier, the span context in ctx is left as it is.
func (p *Propagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	var (
		sc     trace.SpanContext
		winner Style
		perr   string
	)
	for _, s := range p.extract {
		switch s {
		case StyleBaggage:
			ctx = propagation.Baggage{}.Extract(ctx, carrier)
		case StyleDatadog:
			if !sc.IsValid() {
				sc, perr = extractDatadog(carrier)
				winner = s
			}
		case StyleB3Multi:
			if !sc.IsValid() {
				sc = extractB3Multi(carrier)
				winner = s
			}
		case StyleB3:
			if !sc.IsValid() {
				sc = extractB3(carrier)
				winner = s
			}
		case StyleTraceContext:
			if !sc.IsValid() {
				sc = extractTraceContext(carrier)
				winner = s
				continue
			}
			w3c := extractTraceContext(carrier)
			if !w3c.IsValid() || w3c.TraceID() != sc.TraceID() {
				continue
			}
			// The Datadog parent that a differing W3C parent replaces.
			var ddParent trace.SpanID
			switch {
			case winner == StyleDatadog:
				ddParent = sc.SpanID()
			case w3c.SpanID() != sc.SpanID() && slices.Contains(p.extract, StyleDatadog):
				if dd, _ := extractDatadog(carrier); dd.IsValid() {
					ddParent = dd.SpanID()
				}
			}
			sc = mergeTraceContext(sc, w3c, ddParent)
		}
	}
	if !sc.IsValid() {
		return ctx
	}
	if perr != "" && winner == StyleDatadog {
		ctx = context.WithValue(ctx, propagationErrorKey{}, perr)
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// mergeTraceContext folds a W3C span context into the one the winning style
// extracted, both of the same trace. The W3C parent replaces a differing
// winning parent only when ddParent, the parent in valid Datadog headers,
// is known, which then becomes the last Datadog parent (unless the W3C
// tracestate names its own).
func mergeTraceContext(won, w3c trace.SpanContext, ddParent trace.SpanID) trace.SpanContext {
	st, _ := ParseState(won.TraceState())
	cfg := trace.SpanContextConfig{
		TraceID:    won.TraceID(),
		SpanID:     won.SpanID(),
		TraceFlags: won.TraceFlags(),
		TraceState: w3c.TraceState(),
		Remote:     true,
	}
	if w3c.SpanID() != won.SpanID() && ddParent.IsValid() {
		cfg.SpanID = w3c.SpanID()
		if w3cState, _ := ParseState(w3c.TraceState()); w3cState.LastParent.IsValid() {
			st.LastParent = w3cState.LastParent
		} else {
			st.LastParent = ddParent
		}
	}
	if ts, err := st.Insert(cfg.TraceState); err == nil {
		cfg.TraceState = ts
	} else {
		cfg.TraceState = won.TraceState()
	}
	return trace.NewSpanContext(cfg)
}

// Fields returns the headers Inject writes.
func (p *Propagator) Fields() []string {
	var fields []string
	for _, s := range p.inject {
		switch s {
		case StyleDatadog:
			fields = append(fields, Datadog{}.Fields()...)
		case StyleTraceContext:
			fields = append(fields, TraceContext{}.Fields()...)
		case StyleBaggage:
			fields = append(fields, propagation.Baggage{}.Fields()...)
		case StyleB3Multi:
			fields = append(fields, B3Multi{}.Fields()...)
		case StyleB3:
			fields = append(fields, B3{}.Fields()...)
		}
	}
	return fields
}
