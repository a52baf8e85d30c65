package ddexport

// The OpenTelemetry → Datadog span mapping.
//
// It follows the Datadog Agent's own OTLP ingestion (pkg/trace/transform,
// with the "V2" operation and resource names recent Agents use by default),
// so that a span looks the same in Datadog whether it came through the Agent's
// OTLP receiver or through this exporter. "Look up X" means: for each key of X
// in order, the span's attribute, then the resource's; the first non-empty
// string wins (a number or boolean under such a key names nothing, as on
// the Agent, whose semantic lookups read strings only).
//
//	Datadog field     OpenTelemetry source
//	---------------   ------------------------------------------------------------
//	service           service.name; an unset or SDK default (unknown_service:*)
//	                  name loses to the configured service (WithService /
//	                  DD_SERVICE); otherwise "otlpresourcenoservicename"
//	name              operation.name (normalized), else by kind and convention:
//	                    HTTP (http.request.method | http.method)
//	                      server → http.server.request, client → http.client.request
//	                    client + db.system.name | db.system → <db system>.query
//	                    messaging.system + messaging.operation (client, server,
//	                      producer, consumer) → <system>.<operation>
//	                    rpc.system aws-api, client → aws.<rpc.service>.request
//	                      (aws.client.request without rpc.service)
//	                    rpc.system, client → <rpc.system>.client.request
//	                    rpc.system, server → <rpc.system>.server.request
//	                    client + faas.invoked_provider + faas.invoked_name
//	                      → <provider>.<name>.invoke
//	                    server + faas.trigger → <trigger>.invoke
//	                    graphql.operation.type → graphql.server.request
//	                    server → <network.protocol.name>.server.request | server.request
//	                    client → <network.protocol.name>.client.request | client.request
//	                    else the kind: Internal, Producer, Consumer
//	resource          resource.name, else
//	                    HTTP method (_OTHER → HTTP) + " " + url.template (client)
//	                      or http.route (server)
//	                    messaging.operation + " " + messaging.destination |
//	                      messaging.destination.name
//	                    rpc.method + " " + rpc.service
//	                    graphql.operation.type + " " + graphql.operation.name
//	                    with a db system: db.statement | db.query.text
//	                    else the span name; cut to 5000 bytes
//	type              span.type; server → web;
//	                  client with a db system → sql, redis, mongodb, cassandra,
//	                  memcached, elasticsearch, opensearch or db; client → http;
//	                  else custom
//	trace_id          low 64 bits of the trace ID; meta _dd.p.tid holds the
//	                  high 64 bits (16 lowercase hex) on each chunk root
//	span_id           the span ID; parent_id the parent's (remote parents kept)
//	start, duration   nanoseconds; error 1 when the status is Error
//	meta              in order, the first writer of a key winning:
//	                    instrumentation scope attributes;
//	                    otel.trace_id (32 hex), _dd.p.tid (roots), events and
//	                      _dd.span_links (JSON, when not native),
//	                      _dd.span_events.has_exception ("true" with any
//	                      exception event), otel.scope.name/.version and
//	                      otel.library.name/.version, otel.status_code
//	                      (Unset, Ok, Error), otel.status_description;
//	                    span.kind (unspecified, internal, server, client,
//	                      producer, consumer), rpc.grpc.status_code (from
//	                      rpc.grpc.status_code, grpc.code, rpc.grpc.status.code,
//	                      grpc.status.code, or rpc.response.status_code for gRPC),
//	                      w3c.tracestate (the raw W3C tracestate);
//	                    span attributes that are not numbers, renamed:
//	                      http.request.method → http.method,
//	                      http.response.status_code → http.status_code,
//	                      url.full → http.url, server.address → http.server_name,
//	                      client.address → http.client_ip,
//	                      user_agent.original → http.useragent,
//	                      network.protocol.version → http.version,
//	                      http.request.body.size → http.request.content_length,
//	                      http.response.body.size → http.response.content_length,
//	                      http.request.header.referrer → http.referrer,
//	                      http.request.header.<h> → http.request.headers.<h>;
//	                      service.name, operation.name, resource.name and
//	                      span.type are left out; booleans as true/false, bytes
//	                      as base64, slices and maps as JSON;
//	                    version (service.version), error.message (the status
//	                      description, else the last exception event's
//	                      exception.message, else a textual HTTP status code
//	                      as "503 Service Unavailable"), error.type and
//	                      error.stack (the last exception event's
//	                      exception.type and exception.stacktrace) on Error
//	                      spans, env (deployment.environment.name |
//	                      deployment.environment); version and env normalized
//	                      like Datadog tags (lower case);
//	                    resource attributes, renamed the same way, as text;
//	                    db.name (db.namespace);
//	                    on chunk roots, from the tracestate's dd member:
//	                      _dd.origin (o:), _dd.p.<k> for each t.<k> but
//	                      t.dm and t.tid, and _dd.p.dm, the decision maker
//	                      of a kept trace (see the decision below); on a
//	                      span whose parent is remote, _dd.parent_id (p:,
//	                      when it is 16 hex digits, in lower case);
//	                    env and version from the configuration; extra tags.
//	metrics           float64: _dd.top_level (1 without a parent, with a
//	                  remote parent, or for server and consumer spans),
//	                  http.status_code (http.status_code |
//	                  http.response.status_code), _dd.measured (1 for client
//	                  and producer spans, or from the attribute), numeric span
//	                  attributes (renamed as above; sampling.priority →
//	                  _sampling_priority_v1), analytics.event → _dd1.sr.eausr,
//	                  _sample_rate (the head-sampling probability in the
//	                  tracestate's ot member, th: or p:),
//	                  _dd.span_events.dropped and _dd.span_links.dropped (how
//	                  many left out of events and _dd.span_links to keep
//	                  them under the Agent's 25,000-byte limit: doc.go),
//	                  and, first, on chunk roots _sampling_priority_v1 (the
//	                  decision below)
//	span_events       v0.4 with native events: name, time_unix_nano and typed
//	                  attributes (string, bool, int64, float64, arrays of them)
//	span_links        v0.4 with native events: trace_id, trace_id_high, span_id,
//	                  attributes (as text), tracestate, flags (W3C flags with
//	                  bit 31 set)
//
// A chunk root is a span whose parent is not in the same chunk; a chunk holds
// the spans of one trace ID. Its sampling decision (_sampling_priority_v1,
// _dd.p.dm) is, in order:
//   - a priority set by hand on any span of the chunk, a numeric
//     sampling.priority (or _sampling_priority_v1) attribute, the last one
//     in the chunk winning as on the Agent's OTLP path; decision maker -4;
//   - the dd member's s: when it agrees with the root's sampled flag
//     (priority > 0 exactly when sampled); decision maker t.dm, else -0;
//   - 1 when sampled, 0 when not, as ddprop settles a disagreement: an s:
//     overridden to 1 has decision maker -0 (a t.dm of the other decision
//     is not kept); without s: the flag decides and t.dm stays.
//
// -0 says the trace was kept by default (the OpenTelemetry sampler decided;
// no Datadog rule or agent rate was applied). _dd.p.dm is written only for
// a priority > 0, as dd-trace-go does.
//
// Where this departs from the Agent's OTLP path: a span under a remote
// parent is top-level here whatever its kind (as for Datadog's tracers);
// the Agent's span-kind rule marks only parentless, server and consumer
// spans. The Agent names the error
// message error.msg and derives no error.type or error.stack; it sends
// events and links only as meta JSON; it writes no _dd.p.tid, _dd.p.* tags
// or priority (it samples OTLP chunks itself, but for sampling.priority). Non-finite floats inside JSON
// become the strings "NaN", "Infinity" and "-Infinity" (the Agent's JSON
// encoder would fail on them). Strings are not repaired: the Agent replaces
// invalid UTF-8 itself, except inside the JSON values, which are written
// valid.
//
// The mapping is split by concern: the names (service, operation name,
// resource, type) are package internal/ddname, shared with the sampler;
// meta.go writes meta, metrics.go metrics, errors.go the error fields from
// the status and exception events, events.go span events and links (native
// and JSON), tracestate.go what the W3C tracestate carries.

import (
	"github.com/seed03c8c003/ddslog/internal/ddname"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// resInfo is a resource converted once: its looked-up attributes, the
// names it gives a span that sets none of their keys itself, and the meta
// entries it contributes to every span.
type resInfo struct {
	slots ddname.Slots
	meta  []metaEntry
	keys  keySet // the meta keys, to look up
	pre   []byte // v0.4: meta written once, copied into every span
	gen   uint64 // v0.5: the payload idx was computed for
	idx   []uint32
	fixed bool // a meta key is one the mapping writes itself

	// service, version and env as the lookup finds them in the resource
	// alone (version and env normalized).
	service, version, env string
}

type metaEntry struct{ prefix, suffix, value string }

// resourceInfo returns the conversion of r, cached by pointer (resources are
// immutable and shared by all spans of a provider).
func (e *encoder) resourceInfo(r *resource.Resource) *resInfo {
	if r == nil {
		return &e.noRes
	}
	if ri, ok := e.resByID[r]; ok {
		return ri
	}
	if len(e.resByID) >= maxResources {
		clear(e.resByID)
	}
	ri := &resInfo{}
	for it := r.Iter(); it.Next(); {
		kv := it.Attribute()
		k := string(kv.Key)
		if s, ok := ddname.SlotOf(k); ok {
			ri.slots.Set(s, kv.Value)
		}
		if p, sfx, ok := ddname.Key(k); ok && ri.keys.add(p, sfx) {
			if sfx == "" && isFixedKey(p) {
				ri.fixed = true
			}
			v := ddname.Text(kv.Value)
			ri.meta = append(ri.meta, metaEntry{p, sfx, v})
			ri.pre = appendStringHeader(ri.pre, len(p)+len(sfx))
			ri.pre = append(append(ri.pre, p...), sfx...)
			ri.pre = appendString(ri.pre, v)
		}
	}
	ri.setNames(e.cfg)
	e.resByID[r] = ri
	return ri
}

// setNames looks up the names r gives a span that sets none of their keys.
func (r *resInfo) setNames(cfg *mapConfig) {
	var none ddname.Slots
	l := ddname.NewLookup(&none, &r.slots)
	r.service = l.Service(cfg.service)
	r.version = l.Norm(ddname.AttrServiceVersion)
	r.env = l.Norm(ddname.AttrDeploymentEnvironmentName, ddname.AttrDeploymentEnvironment)
}

// collect records the span's looked-up attributes in e.sp, and a priority
// set by hand in ch; it reports whether an attribute has a key of
// isFixedKey.
func (e *encoder) collect(attrs []attribute.KeyValue, ch *chunkState) (fixed bool) {
	e.sp.Reset()
	var manual float64
	hasManual := false
	for i := range attrs {
		kv := &attrs[i]
		k := string(kv.Key)
		if s, ok := ddname.SlotOf(k); ok {
			e.sp.Set(s, kv.Value)
			// The one looked-up key the mapping also writes itself.
			fixed = fixed || s == ddname.AttrRPCGRPCStatusCode
		} else if f, ok := manualOf(kv); ok {
			manual, hasManual = f, true
		} else if !fixed && isFixedKey(k) {
			fixed = true
		}
	}
	ch.see(manual, hasManual)
	return fixed
}

// appendSpan converts s, the span at index i of chunk ch, and writes it into
// e.b. remote says whether the parent is remote; root whether s is a root
// of its chunk.
func (e *encoder) appendSpan(s sdktrace.ReadOnlySpan, parent trace.SpanID, remote, root, native bool, ch *chunkState, i int) {
	// The span's state, in the order it depends on itself: the resource's
	// conversion, the span's looked-up attributes, the lookup over both,
	// the exception events.
	e.res = e.resourceInfo(s.Resource())
	attrs := s.Attributes()
	e.spanFixed = e.collect(attrs, ch)
	e.names = ddname.NewLookup(&e.sp, &e.res.slots)
	events := s.Events()
	e.exc = exceptions(events)
	links := s.Links()
	kind := s.SpanKind()
	status := s.Status()
	sc := s.SpanContext()
	tid := sc.TraceID()
	native = native && !e.v05
	nativeEvents := native && len(events) > 0
	nativeLinks := native && len(links) > 0

	if e.v05 {
		e.b = append(e.b, 0x9c)
	} else {
		n := uint32(12)
		if nativeEvents {
			n++
		}
		if nativeLinks {
			n++
		}
		e.b = appendMapHeader(e.b, n)
	}
	e.field("service")
	if e.sp.HasAny(1 << ddname.AttrServiceName) {
		e.str(e.names.Service(e.cfg.service))
	} else {
		e.str(e.res.service)
	}
	e.field("name")
	op, b := e.names.AppendOperation(e.name[:0], kind)
	e.name = b
	e.strOr(op, b)
	e.field("resource")
	res, b := e.names.AppendResource(e.resBuf[:0], s.Name(), kind)
	e.resBuf = b
	e.strOr(res, b)
	e.field("trace_id")
	e.b = appendUint64(e.b, be64(tid[8:]))
	e.field("span_id")
	sid := sc.SpanID()
	e.b = appendUint64(e.b, be64(sid[:]))
	e.field("parent_id")
	e.b = appendUint64(e.b, be64(parent[:]))
	start := s.StartTime().UnixNano()
	e.field("start")
	e.b = appendInt64(e.b, start)
	e.field("duration")
	e.b = appendInt64(e.b, s.EndTime().UnixNano()-start)
	e.field("error")
	if status.Code == codes.Error {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
	// A chunk root carries the chunk's sampling decision and trace tags.
	var dd ddTraceState
	var priority float64
	var dm string
	if root {
		if sc.TraceState().Len() > 0 {
			dd = parseDDTraceState(sc.TraceState())
		}
		ch.decideAt(i)
		priority, dm = decide(&dd, sc.IsSampled(), ch)
	}
	e.field("meta")
	drops := e.writeMeta(s, sc, attrs, events, links, status, kind, remote, root, native, &dd, dm)
	e.rule, e.ruleKept = e.spanRules[sc.SpanID()]
	e.field("metrics")
	e.writeMetrics(attrs, kind, topLevel(parent, remote, kind), root, priority, sc.TraceState(), drops)
	e.field("type")
	e.str(e.names.Type(kind))
	if nativeLinks {
		e.key("span_links")
		e.writeNativeLinks(links)
	}
	if nativeEvents {
		e.key("span_events")
		e.writeNativeEvents(events)
	}
}

// field writes a v0.4 span field name; v0.5 spans are positional.
func (e *encoder) field(k string) {
	if !e.v05 {
		e.key(k)
	}
}

// strOr writes s, or when s is empty the bytes a name was built into.
func (e *encoder) strOr(s string, b []byte) {
	if s == "" {
		e.strb(b)
		return
	}
	e.str(s)
}

// traceIDHex returns tid as 32 lowercase hexadecimal digits, formatted
// once for the spans of a chunk, which share it. The result is valid until
// the next call.
func (e *encoder) traceIDHex(tid trace.TraceID) []byte {
	if !e.hexSet || tid != e.hexTID {
		appendHex(e.tidHex[:0], tid[:])
		e.hexTID, e.hexSet = tid, true
	}
	return e.tidHex[:]
}

func appendHex(b []byte, id []byte) []byte {
	for _, c := range id {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

const hexDigits = "0123456789abcdef"

func be64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

func statusCodeText(c codes.Code) string {
	switch c {
	case codes.Ok:
		return "Ok"
	case codes.Error:
		return "Error"
	}
	return "Unset"
}
