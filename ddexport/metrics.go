package ddexport

import (
	"math"
	"strconv"

	"github.com/seed03c8c003/ddslog/internal/ddname"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// spanSamplingMechanism is the value of _dd.span_sampling.mechanism: single
// span sampling, Datadog's sampling mechanism 8.
const spanSamplingMechanism = 8

func (e *encoder) metric(prefix, suffix string, f float64) {
	if e.add(prefix, suffix) {
		e.b = appendFloat64(e.b, f)
	}
}

// writeMetrics writes the span's metrics map; the first writer of a key
// wins.
func (e *encoder) writeMetrics(attrs []attribute.KeyValue, kind trace.SpanKind, top, root bool, priority float64, ts trace.TraceState, drops jsonDrops) {
	e.openMap()
	if root {
		// First: the chunk's decision wins over the root's own attribute.
		e.metric("_sampling_priority_v1", "", priority)
	}
	if top {
		e.metric("_dd.top_level", "", 1)
	}
	if code, ok := httpStatusLookup(&e.sp, &e.res.slots); ok && code >= 0 {
		e.metric("http.status_code", "", float64(code))
	}
	// Client and producer spans are measured (APM stats without being
	// service entries), as on the Agent's OTLP path.
	if kind == trace.SpanKindClient || kind == trace.SpanKindProducer || measured(&e.sp, &e.res.slots) {
		e.metric("_dd.measured", "", 1)
	}
	for i := range attrs {
		kv := &attrs[i]
		var f float64
		switch kv.Value.Type() {
		case attribute.INT64:
			f = float64(kv.Value.AsInt64())
		case attribute.FLOAT64:
			f = kv.Value.AsFloat64()
		default:
			if kv.Key == "analytics.event" {
				if b, err := strconv.ParseBool(ddname.Text(kv.Value)); err == nil {
					f = 0
					if b {
						f = 1
					}
					e.metric("_dd1.sr.eausr", "", f)
				}
			}
			continue
		}
		if kv.Key == "sampling.priority" {
			e.metric("_sampling_priority_v1", "", f)
			continue
		}
		if p, sfx, ok := ddname.Key(string(kv.Key)); ok {
			e.metric(p, sfx, f)
		}
	}
	if ts.Len() > 0 {
		if rate, ok := sampleRate(ts); ok {
			e.metric("_sample_rate", "", rate)
		}
	}
	if r := e.rule; e.ruleKept {
		// Kept by a single-span sampling rule although its trace is not.
		e.metric("_dd.span_sampling.mechanism", "", spanSamplingMechanism)
		e.metric("_dd.span_sampling.rule_rate", "", r.rate)
		if r.maxPerSecond > 0 {
			e.metric("_dd.span_sampling.max_per_second", "", r.maxPerSecond)
		}
	}
	if drops.events > 0 {
		e.metric("_dd.span_events.dropped", "", float64(drops.events))
	}
	if drops.links > 0 {
		e.metric("_dd.span_links.dropped", "", float64(drops.links))
	}
	e.closeMap()
}

// topLevel reports whether a span is a service entry for Datadog, by the
// rule of the Agent's OTLP path (span kinds) extended to remote parents as
// Datadog's tracers have it: a span without a parent, with a remote parent,
// or of kind server or consumer. Being decided from the span alone, it is
// right however the spans of a trace are cut into payloads; every request
// says so with Datadog-Client-Computed-Top-Level, so that the Agent takes
// these marks instead of computing its own per chunk.
func topLevel(parent trace.SpanID, remote bool, kind trace.SpanKind) bool {
	return !parent.IsValid() || remote || kind == trace.SpanKindServer || kind == trace.SpanKindConsumer
}

// httpStatusLookup looks the HTTP status code up as the Agent's OTLP path
// does: for each key, an integer (the span's, then the resource's), then
// integral text (likewise). A double is not read: it becomes the metric
// as any numeric span attribute does, when the lookup finds nothing.
func httpStatusLookup(span, res *ddname.Slots) (int64, bool) {
	const keys = 1<<ddname.AttrHTTPStatusCode | 1<<ddname.AttrHTTPResponseStatusCode
	if !span.HasAny(keys) && !res.HasAny(keys) {
		return 0, false
	}
	for _, sl := range [...]ddname.Slot{ddname.AttrHTTPStatusCode, ddname.AttrHTTPResponseStatusCode} {
		for _, src := range [...]*ddname.Slots{span, res} {
			if v, ok := src.Get(sl); ok && v.Type() == attribute.INT64 {
				return v.AsInt64(), true
			}
		}
		for _, src := range [...]*ddname.Slots{span, res} {
			if v, ok := src.Get(sl); ok && v.Type() == attribute.STRING {
				if n, ok := parseIntegral(v.AsString()); ok {
					return n, true
				}
			}
		}
	}
	return 0, false
}

// httpStatusCode is the HTTP status code the Agent's stats read from the
// span's metric: the lookup's, else an integral double of the span.
func httpStatusCode(span, res *ddname.Slots) (int64, bool) {
	if code, ok := httpStatusLookup(span, res); ok {
		return code, true
	}
	for _, sl := range [...]ddname.Slot{ddname.AttrHTTPStatusCode, ddname.AttrHTTPResponseStatusCode} {
		if v, ok := span.Get(sl); ok && v.Type() == attribute.FLOAT64 {
			if f := v.AsFloat64(); f == math.Trunc(f) && !math.IsInf(f, 0) {
				return int64(f), true
			}
		}
	}
	return 0, false
}

// measured reports whether the span's metric _dd.measured is 1 as on the
// Agent's OTLP path: its integer _dd.measured (the span's, else the
// resource's) is 1, or, when the span has no integer one, its double
// _dd.measured, which becomes the metric, is 1. Text counts for nothing.
func measured(span, res *ddname.Slots) bool {
	if !span.HasAny(1<<ddname.AttrDDMeasured) && !res.HasAny(1<<ddname.AttrDDMeasured) {
		return false
	}
	v, ok := span.Get(ddname.AttrDDMeasured)
	if ok && v.Type() == attribute.INT64 {
		return v.AsInt64() == 1
	}
	if ok && v.Type() == attribute.FLOAT64 && v.AsFloat64() == 1 {
		return true
	}
	r, ok := res.Get(ddname.AttrDDMeasured)
	return ok && r.Type() == attribute.INT64 && r.AsInt64() == 1
}

func parseIntegral(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && !math.IsInf(f, 0) {
		return int64(f), true
	}
	return 0, false
}
