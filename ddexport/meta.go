package ddexport

import (
	"github.com/seed03c8c003/ddslog/internal/ddname"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// defaultDecisionMaker is the _dd.p.dm of a trace kept by default: the
// OpenTelemetry sampler decided, not a Datadog rule or agent rate.
const defaultDecisionMaker = "-0"

// isFixedKey reports whether the mapping writes meta key k itself,
// unconditionally, before or instead of an attribute of the same key.
//
// Every key written with fixedMeta or fixedMetaBytes must be here: when no
// attribute, resource attribute, scope attribute or tag has one of these
// keys (the span's meta is "clean"), those writers skip the duplicate-key
// check. TestFixedMetaKeys checks the call sites against this list.
func isFixedKey(k string) bool {
	switch k {
	case "otel.trace_id",
		"_dd.p.tid",
		"events",
		"_dd.span_events.has_exception",
		"_dd.span_links",
		"otel.scope.name",
		"otel.library.name",
		"otel.scope.version",
		"otel.library.version",
		"otel.status_code",
		"otel.status_description",
		"span.kind",
		"rpc.grpc.status_code",
		"w3c.tracestate",
		"error.message",
		"error.type",
		"error.stack",
		"_dd.p.dm",
		"_dd.origin",
		"_dd.parent_id":
		return true
	}
	return false
}

// fixedMeta writes a key of isFixedKey. When nothing else can write that
// key (e.clean), the key set is skipped.
func (e *encoder) fixedMeta(k, v string) {
	if !e.clean {
		e.meta(k, v)
		return
	}
	e.mapN++
	e.pair(k, v)
}

func (e *encoder) fixedMetaBytes(k string, v []byte) {
	if !e.clean {
		e.metaBytes(k, v)
		return
	}
	e.mapN++
	e.pairBytes(k, v)
}

func (e *encoder) meta(k, v string) {
	if e.novel(k, "") {
		e.pair(k, v)
	}
}

func (e *encoder) metaBytes(k string, v []byte) {
	if e.novel(k, "") {
		e.pairBytes(k, v)
	}
}

func (e *encoder) metaValue(prefix, suffix string, v attribute.Value) {
	if suffix == "" && v.Type() == attribute.STRING {
		e.meta(prefix, v.AsString()) // the common case
		return
	}
	if !e.add(prefix, suffix) {
		return
	}
	if v.Type() == attribute.STRING {
		e.str(v.AsString())
		return
	}
	e.scratch = ddname.AppendText(e.scratch[:0], v)
	e.strb(e.scratch)
}

// jsonDrops counts what the meta JSON of events and links left out to stay
// under the Agent's limit on a meta value.
type jsonDrops struct{ events, links int }

// writeMeta writes the span's meta map. The order is the precedence: the
// first writer of a key wins.
func (e *encoder) writeMeta(s sdktrace.ReadOnlySpan, sc trace.SpanContext, attrs []attribute.KeyValue, events []sdktrace.Event,
	links []sdktrace.Link, status sdktrace.Status, kind trace.SpanKind, remote, root, native bool, dd *ddTraceState, dm string) (drops jsonDrops) {
	scope := s.InstrumentationScope()
	e.openMap()
	e.clean = !e.spanFixed && !e.res.fixed && !e.tagsFixed && scope.Attributes.Len() == 0
	if scope.Attributes.Len() > 0 {
		for it := scope.Attributes.Iter(); it.Next(); {
			kv := it.Attribute()
			e.metaValue(string(kv.Key), "", kv.Value)
		}
	}
	tid := sc.TraceID()
	hex := e.traceIDHex(tid)
	e.fixedMetaBytes("otel.trace_id", hex)
	if root && be64(tid[:8]) != 0 {
		e.fixedMetaBytes("_dd.p.tid", hex[:16])
	}
	if !native && len(events) > 0 {
		var ok bool
		if drops.events, ok = e.eventsJSON(events); ok {
			e.fixedMetaBytes("events", e.json)
		}
	}
	if e.exc.has {
		e.fixedMeta("_dd.span_events.has_exception", "true")
	}
	if !native && len(links) > 0 {
		var ok bool
		if drops.links, ok = e.linksJSON(links); ok {
			e.fixedMetaBytes("_dd.span_links", e.json)
		}
	}
	if scope.Name != "" {
		e.fixedMeta("otel.scope.name", scope.Name)
		e.fixedMeta("otel.library.name", scope.Name)
	}
	if scope.Version != "" {
		e.fixedMeta("otel.scope.version", scope.Version)
		e.fixedMeta("otel.library.version", scope.Version)
	}
	e.fixedMeta("otel.status_code", statusCodeText(status.Code))
	if status.Description != "" {
		e.fixedMeta("otel.status_description", status.Description)
	}
	e.fixedMeta("span.kind", ddname.SpanKind(kind))
	if g, ok := grpcStatusCode(&e.names); ok {
		if g.Type() == attribute.STRING {
			e.fixedMeta("rpc.grpc.status_code", g.AsString())
		} else {
			e.scratch = ddname.AppendText(e.scratch[:0], g)
			e.fixedMetaBytes("rpc.grpc.status_code", e.scratch)
		}
	}
	if ts := sc.TraceState(); ts.Len() > 0 {
		e.scratch = appendTraceState(e.scratch[:0], ts)
		e.fixedMetaBytes("w3c.tracestate", e.scratch)
	}
	e.empties = e.empties[:0]
	for i := range attrs {
		kv := &attrs[i]
		if t := kv.Value.Type(); t == attribute.INT64 || t == attribute.FLOAT64 || kv.Key == "analytics.event" {
			continue
		}
		if p, sfx, ok := ddname.Key(string(kv.Key)); ok {
			if kv.Value.Type() == attribute.STRING && kv.Value.AsString() == "" && !blockingKey(p, sfx) {
				e.empties = append(e.empties, metaKey{p, sfx})
				continue
			}
			e.metaValue(p, sfx, kv.Value)
		}
	}
	// The resource's version and env, unless the span sets their keys.
	version := e.res.version
	if e.sp.HasAny(1 << ddname.AttrServiceVersion) {
		version = e.names.Norm(ddname.AttrServiceVersion)
	}
	if version != "" {
		e.meta("version", version)
	}
	if status.Code == codes.Error {
		e.errorMeta(status.Description, attrs)
	}
	env := e.res.env
	if e.sp.HasAny(1<<ddname.AttrDeploymentEnvironmentName | 1<<ddname.AttrDeploymentEnvironment) {
		env = e.names.Norm(ddname.AttrDeploymentEnvironmentName, ddname.AttrDeploymentEnvironment)
	}
	if env != "" {
		e.meta("env", env)
	}
	e.writeResourceMeta(e.res)
	if v := e.names.Text(ddname.AttrDBNamespace); v != "" {
		e.writeEmpties("db.name") // an empty db.name attribute blocks it
		e.meta("db.name", v)
	}
	e.writeEmpties("")
	if root {
		if dm != "" {
			e.scratch = appendDecoded(e.scratch[:0], dm)
			e.fixedMetaBytes("_dd.p.dm", e.scratch)
		}
		if dd.origin != "" {
			e.scratch = appendDecoded(e.scratch[:0], dd.origin)
			e.fixedMetaBytes("_dd.origin", e.scratch)
		}
		if dd.member != "" {
			dd.eachTag(e.ddTag)
		}
		// A span whose parent is remote records the last Datadog span on
		// the trace's path, so that Datadog can reparent it when the
		// services in between sent no spans to Datadog (as dd-trace-go
		// does, only when the member has p:).
		if remote && dd.lastParent != "" {
			var ok bool
			if e.scratch, ok = appendParentID(e.scratch[:0], dd.lastParent); ok {
				e.fixedMetaBytes("_dd.parent_id", e.scratch)
			}
		}
	}
	// When the span's env and version were written, their keys are in
	// the map: the configured ones would be duplicates.
	if e.cfg.env != "" && env == "" {
		e.meta("env", e.cfg.env)
	}
	if e.cfg.version != "" && version == "" {
		e.meta("version", e.cfg.version)
	}
	for _, t := range e.cfg.tags {
		e.meta(t.key, t.value)
	}
	e.closeMap()
	return drops
}

// blockingKey reports whether an empty string attribute of meta key
// prefix+suffix is written at once: the keys whose derived value (version,
// env, the error's) the Agent's OTLP mapping writes only when the span has
// no such key at all. Any other empty string attribute is written last, as
// the Agent lets a later value of its key, from the span or its resource,
// replace an empty one.
func blockingKey(prefix, suffix string) bool {
	if suffix != "" {
		return false
	}
	switch prefix {
	case "version", "env", "error.message", "error.type", "error.stack":
		return true
	}
	return false
}

// writeEmpties writes the keys of e.empties that nothing wrote since, with
// an empty value: those of key only, or all when key is "".
func (e *encoder) writeEmpties(key string) {
	for _, m := range e.empties {
		if key != "" && (m.prefix != key || m.suffix != "") {
			continue
		}
		if e.add(m.prefix, m.suffix) {
			e.str("")
		}
	}
}

// ddTag writes the propagated tag _dd.p.<k> of encoded value v. The key
// is never one of isFixedKey (eachTag leaves out dm and tid), so the key
// set is always checked.
func (e *encoder) ddTag(k, v string) {
	if e.add(ddTagPrefix, k) {
		e.scratch = appendDecoded(e.scratch[:0], v)
		e.strb(e.scratch)
	}
}

// writeResourceMeta writes the resource's meta entries: all at once when
// none was written before, which is the common case.
func (e *encoder) writeResourceMeta(r *resInfo) {
	if len(r.meta) == 0 {
		return
	}
	if e.seen.mayShare(&r.keys) {
		for _, m := range r.meta {
			if e.seen.has(m.prefix, m.suffix) {
				for _, m := range r.meta {
					if e.add(m.prefix, m.suffix) {
						e.str(m.value)
					}
				}
				return
			}
		}
	}
	e.mapN += len(r.meta)
	// The block's keys are not in e.seen: add looks them up here.
	e.resKeys = &r.keys
	if !e.v05 {
		e.b = append(e.b, r.pre...)
		return
	}
	if r.gen != e.gen {
		r.idx = r.idx[:0]
		for _, m := range r.meta {
			r.idx = append(r.idx, e.indexParts(m.prefix, m.suffix), e.strs.index(m.value))
		}
		r.gen = e.gen
	}
	for _, x := range r.idx {
		e.b = appendUint64(e.b, uint64(x))
	}
}

// grpcStatusCode looks up the gRPC status code as the Agent does.
func grpcStatusCode(l *ddname.Lookup) (attribute.Value, bool) {
	const keys = 1<<ddname.AttrRPCGRPCStatusCode | 1<<ddname.AttrGRPCCode | 1<<ddname.AttrRPCGRPCStatusCodeDotted |
		1<<ddname.AttrGRPCStatusCode | 1<<ddname.AttrRPCSystemName | 1<<ddname.AttrRPCSystem
	if !l.HasAny(keys) {
		return attribute.Value{}, false
	}
	if v, ok := l.Value(ddname.AttrRPCGRPCStatusCode, ddname.AttrGRPCCode, ddname.AttrRPCGRPCStatusCodeDotted, ddname.AttrGRPCStatusCode); ok {
		return v, true
	}
	name := l.Text(ddname.AttrRPCSystemName)
	if name == "grpc" || (name == "" && l.Text(ddname.AttrRPCSystem) == "grpc") {
		return l.Value(ddname.AttrRPCResponseStatusCode)
	}
	return attribute.Value{}, false
}
