package ddexport

// The OpenTelemetry → Datadog span mapping.
//
// It follows the Datadog Agent's own OTLP ingestion (pkg/trace/transform,
// with the "V2" operation and resource names recent Agents use by default),
// so that a span looks the same in Datadog whether it came through the Agent's
// OTLP receiver or through this exporter. "Look up X" means: for each key of X
// in order, the span's attribute, then the resource's; the first non-empty
// value wins.
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
//	                    _dd.p.dm (-0, or t.dm of the tracestate's dd member) and
//	                      _dd.origin (its o:) on chunk roots; -0 says the
//	                      trace was kept by default (the OpenTelemetry sampler
//	                      decided; no Datadog rule or agent rate was applied);
//	                    env and version from the configuration; extra tags.
//	metrics           float64: http.status_code (http.status_code |
//	                  http.response.status_code), _dd.measured, numeric span
//	                  attributes (renamed as above; sampling.priority →
//	                  _sampling_priority_v1), analytics.event → _dd1.sr.eausr,
//	                  _sample_rate (the head-sampling probability in the
//	                  tracestate's ot member, th: or p:), and on chunk roots
//	                  _sampling_priority_v1 = 1 (or s: of the tracestate's dd
//	                  member)
//	span_events       v0.4 with native events: name, time_unix_nano and typed
//	                  attributes (string, bool, int64, float64, arrays of them)
//	span_links        v0.4 with native events: trace_id, trace_id_high, span_id,
//	                  attributes (as text), tracestate, flags (W3C flags with
//	                  bit 31 set)
//
// A chunk root is a span whose parent is not in the same chunk; a chunk holds
// the spans of one trace ID.
//
// Where this departs from the Agent's OTLP path: the Agent names the error
// message error.msg and derives no error.type or error.stack; it sends
// events and links only as meta JSON; it writes no _dd.p.tid, _dd.p.dm or
// priority (it samples OTLP chunks itself). Non-finite floats inside JSON
// become the strings "NaN", "Infinity" and "-Infinity" (the Agent's JSON
// encoder would fail on them). Strings are not repaired: the Agent replaces
// invalid UTF-8 itself, except inside the JSON values, which are written
// valid.

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const (
	defaultServiceName = "otlpresourcenoservicename"
	// defaultDecisionMaker is the _dd.p.dm of a trace kept by default: the
	// OpenTelemetry sampler decided, not a Datadog rule or agent rate.
	defaultDecisionMaker = "-0"
	maxResourceLen       = 5000
	maxTagValueLen       = 200
)

// slot numbers the attributes the mapping looks up.
type slot uint8

const (
	sServiceName slot = iota
	sOperationName
	sResourceName
	sSpanType
	sDeploymentEnvironmentName
	sDeploymentEnvironment
	sServiceVersion
	sHTTPRequestMethod
	sHTTPMethod
	sHTTPRoute
	sURLTemplate
	sDBSystemName
	sDBSystem
	sDBStatement
	sDBQueryText
	sDBNamespace
	sMessagingSystem
	sMessagingOperation
	sMessagingDestination
	sMessagingDestinationName
	sRPCSystem
	sRPCSystemName
	sRPCService
	sRPCMethod
	sFaaSInvokedProvider
	sFaaSInvokedName
	sFaaSTrigger
	sGraphQLOperationType
	sGraphQLOperationName
	sNetworkProtocolName
	sHTTPStatusCode
	sHTTPResponseStatusCode
	sRPCGRPCStatusCode
	sGRPCCode
	sRPCGRPCStatusCodeDotted
	sGRPCStatusCode
	sRPCResponseStatusCode
	sDDMeasured
	numSlots
)

func slotOf(k string) (slot, bool) {
	switch k {
	case "service.name":
		return sServiceName, true
	case "operation.name":
		return sOperationName, true
	case "resource.name":
		return sResourceName, true
	case "span.type":
		return sSpanType, true
	case "deployment.environment.name":
		return sDeploymentEnvironmentName, true
	case "deployment.environment":
		return sDeploymentEnvironment, true
	case "service.version":
		return sServiceVersion, true
	case "http.request.method":
		return sHTTPRequestMethod, true
	case "http.method":
		return sHTTPMethod, true
	case "http.route":
		return sHTTPRoute, true
	case "url.template":
		return sURLTemplate, true
	case "db.system.name":
		return sDBSystemName, true
	case "db.system":
		return sDBSystem, true
	case "db.statement":
		return sDBStatement, true
	case "db.query.text":
		return sDBQueryText, true
	case "db.namespace":
		return sDBNamespace, true
	case "messaging.system":
		return sMessagingSystem, true
	case "messaging.operation":
		return sMessagingOperation, true
	case "messaging.destination":
		return sMessagingDestination, true
	case "messaging.destination.name":
		return sMessagingDestinationName, true
	case "rpc.system":
		return sRPCSystem, true
	case "rpc.system.name":
		return sRPCSystemName, true
	case "rpc.service":
		return sRPCService, true
	case "rpc.method":
		return sRPCMethod, true
	case "faas.invoked_provider":
		return sFaaSInvokedProvider, true
	case "faas.invoked_name":
		return sFaaSInvokedName, true
	case "faas.trigger":
		return sFaaSTrigger, true
	case "graphql.operation.type":
		return sGraphQLOperationType, true
	case "graphql.operation.name":
		return sGraphQLOperationName, true
	case "network.protocol.name":
		return sNetworkProtocolName, true
	case "http.status_code":
		return sHTTPStatusCode, true
	case "http.response.status_code":
		return sHTTPResponseStatusCode, true
	case "rpc.grpc.status_code":
		return sRPCGRPCStatusCode, true
	case "grpc.code":
		return sGRPCCode, true
	case "rpc.grpc.status.code":
		return sRPCGRPCStatusCodeDotted, true
	case "grpc.status.code":
		return sGRPCStatusCode, true
	case "rpc.response.status_code":
		return sRPCResponseStatusCode, true
	case "_dd.measured":
		return sDDMeasured, true
	}
	return 0, false
}

// attrSlots holds the looked-up attributes of one attribute list.
type attrSlots struct {
	has uint64
	v   [numSlots]attribute.Value
}

func (a *attrSlots) set(s slot, v attribute.Value) {
	if a.has&(1<<s) == 0 {
		a.has |= 1 << s
		a.v[s] = v
	}
}

func (a *attrSlots) get(s slot) (attribute.Value, bool) {
	if a.has&(1<<s) == 0 {
		return attribute.Value{}, false
	}
	return a.v[s], true
}

// resInfo is a resource converted once: its looked-up attributes and the
// meta entries it contributes to every span.
type resInfo struct {
	slots attrSlots
	meta  []metaEntry
	keys  keySet // the meta keys, to look up
	pre   []byte // v0.4: meta written once, copied into every span
	gen   uint64 // v0.5: the payload idx was computed for
	idx   []uint32
	fixed bool // a meta key is one the mapping writes itself
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
		if s, ok := slotOf(k); ok {
			ri.slots.set(s, kv.Value)
		}
		if p, sfx, ok := ddKey(k); ok && ri.keys.add(p, sfx) {
			if sfx == "" && isFixedKey(p) {
				ri.fixed = true
			}
			v := valueText(kv.Value)
			ri.meta = append(ri.meta, metaEntry{p, sfx, v})
			ri.pre = appendStringHeader(ri.pre, len(p)+len(sfx))
			ri.pre = append(append(ri.pre, p...), sfx...)
			ri.pre = appendString(ri.pre, v)
		}
	}
	e.resByID[r] = ri
	return ri
}

// writeResourceMeta writes the resource's meta entries: all at once when
// none was written before, which is the common case.
func (e *encoder) writeResourceMeta() {
	r := e.res
	if len(r.meta) == 0 {
		return
	}
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
	e.mapN += len(r.meta)
	e.resDone = true
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

// ddKey returns the Datadog meta or metrics key of an attribute, as a prefix
// and an optional suffix, or false for the keys the mapping handles itself.
func ddKey(k string) (prefix, suffix string, ok bool) {
	switch k {
	case "client.address":
		return "http.client_ip", "", true
	case "http.response.body.size":
		return "http.response.content_length", "", true
	case "http.response.status_code":
		return "http.status_code", "", true
	case "http.request.body.size":
		return "http.request.content_length", "", true
	case "http.request.header.referrer":
		return "http.referrer", "", true
	case "http.request.method":
		return "http.method", "", true
	case "network.protocol.version":
		return "http.version", "", true
	case "server.address":
		return "http.server_name", "", true
	case "url.full":
		return "http.url", "", true
	case "user_agent.original":
		return "http.useragent", "", true
	case "service.name", "operation.name", "resource.name", "span.type":
		return "", "", false
	}
	if rest, found := strings.CutPrefix(k, "http.request.header."); found {
		return "http.request.headers.", rest, true
	}
	return k, "", true
}

// collect records the span's looked-up attributes.
func (e *encoder) collect(attrs []attribute.KeyValue) {
	e.sp.has = 0
	fixed := false
	for _, kv := range attrs {
		k := string(kv.Key)
		if s, ok := slotOf(k); ok {
			e.sp.set(s, kv.Value)
			// The one looked-up key the mapping also writes itself.
			fixed = fixed || s == sRPCGRPCStatusCode
		} else if !fixed && isFixedKey(k) {
			fixed = true
		}
	}
	e.spanFixed = fixed
}

// look returns the first non-empty text of the given keys, span before
// resource for each key.
func (e *encoder) look(keys ...slot) string {
	for _, s := range keys {
		if e.anySlots&(1<<s) == 0 {
			continue
		}
		if v, ok := e.sp.get(s); ok {
			if t := valueText(v); t != "" {
				return t
			}
		}
		if v, ok := e.res.slots.get(s); ok {
			if t := valueText(v); t != "" {
				return t
			}
		}
	}
	return ""
}

// lookNorm is look with the Agent's tag value normalization.
func (e *encoder) lookNorm(keys ...slot) string {
	return normalizeTagValue(e.look(keys...))
}

// valueText is appendValueText as a string; strings cost nothing.
func valueText(v attribute.Value) string {
	switch v.Type() {
	case attribute.STRING:
		return v.AsString()
	case attribute.BOOL:
		if v.AsBool() {
			return "true"
		}
		return "false"
	}
	return string(appendValueText(nil, v))
}

// operationName returns the Datadog operation name, either as a string or
// built into e.name.
func (e *encoder) operationName(kind trace.SpanKind) (string, []byte) {
	if v := e.lookNorm(sOperationName); v != "" {
		return v, nil
	}
	client := kind == trace.SpanKindClient
	server := kind == trace.SpanKindServer
	if e.look(sHTTPRequestMethod, sHTTPMethod) != "" {
		if server {
			return "http.server.request", nil
		}
		if client {
			return "http.client.request", nil
		}
	}
	if v := e.lookNorm(sDBSystemName, sDBSystem); v != "" && client {
		return "", e.join(v, ".query")
	}
	if sys, op := e.lookNorm(sMessagingSystem), e.lookNorm(sMessagingOperation); sys != "" && op != "" {
		switch kind {
		case trace.SpanKindClient, trace.SpanKindServer, trace.SpanKindConsumer, trace.SpanKindProducer:
			return "", e.join(sys, ".", op)
		}
	}
	if rpc := e.lookNorm(sRPCSystem); rpc != "" {
		switch {
		case rpc == "aws-api" && client:
			if svc := e.lookNorm(sRPCService); svc != "" {
				return "", e.join("aws.", svc, ".request")
			}
			return "aws.client.request", nil
		case client:
			return "", e.join(rpc, ".client.request")
		case server:
			return "", e.join(rpc, ".server.request")
		}
	}
	if client {
		if p, n := e.lookNorm(sFaaSInvokedProvider), e.lookNorm(sFaaSInvokedName); p != "" && n != "" {
			return "", e.join(p, ".", n, ".invoke")
		}
	}
	if server {
		if t := e.lookNorm(sFaaSTrigger); t != "" {
			return "", e.join(t, ".invoke")
		}
	}
	if e.look(sGraphQLOperationType) != "" {
		return "graphql.server.request", nil
	}
	switch {
	case server:
		if p := e.lookNorm(sNetworkProtocolName); p != "" {
			return "", e.join(p, ".server.request")
		}
		return "server.request", nil
	case client:
		if p := e.lookNorm(sNetworkProtocolName); p != "" {
			return "", e.join(p, ".client.request")
		}
		return "client.request", nil
	case kind == trace.SpanKindProducer:
		return "Producer", nil
	case kind == trace.SpanKindConsumer:
		return "Consumer", nil
	}
	return "Internal", nil
}

// join concatenates parts into e.name.
func (e *encoder) join(parts ...string) []byte {
	e.name = e.name[:0]
	for _, p := range parts {
		e.name = append(e.name, p...)
	}
	return e.name
}

// resourceName returns the Datadog resource, either as a string or built
// into e.resBuf.
func (e *encoder) resourceName(name string, kind trace.SpanKind) (string, []byte) {
	r, b := e.resourceName0(name, kind)
	if len(b) > maxResourceLen {
		b = b[:maxResourceLen]
	} else if len(r) > maxResourceLen {
		r = r[:maxResourceLen]
	}
	return r, b
}

func (e *encoder) resourceName0(name string, kind trace.SpanKind) (string, []byte) {
	if v := e.look(sResourceName); v != "" {
		return v, nil
	}
	pair := func(a, b string) (string, []byte) {
		if b == "" {
			return a, nil
		}
		e.resBuf = append(append(append(e.resBuf[:0], a...), ' '), b...)
		return "", e.resBuf
	}
	if m := e.look(sHTTPRequestMethod, sHTTPMethod); m != "" {
		if m == "_OTHER" {
			m = "HTTP"
		}
		switch kind {
		case trace.SpanKindClient:
			return pair(m, e.look(sURLTemplate))
		case trace.SpanKindServer:
			return pair(m, e.look(sHTTPRoute))
		}
		return m, nil
	}
	if m := e.look(sMessagingOperation); m != "" {
		return pair(m, e.look(sMessagingDestination, sMessagingDestinationName))
	}
	if m := e.look(sRPCMethod); m != "" {
		return pair(m, e.look(sRPCService))
	}
	if m := e.look(sGraphQLOperationType); m != "" {
		return pair(m, e.look(sGraphQLOperationName))
	}
	if e.look(sDBSystemName, sDBSystem) != "" {
		if st := e.look(sDBStatement, sDBQueryText); st != "" {
			return st, nil
		}
	}
	return name, nil
}

// spanType returns the Datadog span type.
func (e *encoder) spanType(kind trace.SpanKind) string {
	if typ := e.look(sSpanType); typ != "" {
		return typ
	}
	switch kind {
	case trace.SpanKindServer:
		return "web"
	case trace.SpanKindClient:
		db := e.lookNorm(sDBSystemName, sDBSystem)
		if db == "" {
			return "http"
		}
		return dbType(db)
	}
	return "custom"
}

// dbType maps a db.system value to a Datadog span type.
func dbType(db string) string {
	switch db {
	case "other_sql", "mssql", "mysql", "oracle", "db2", "postgresql", "redshift",
		"cloudscape", "hsqldb", "maxdb", "ingres", "firstsql", "edb", "cache",
		"firebird", "derby", "informix", "mariadb", "sqlite", "sybase", "teradata",
		"vertica", "h2", "coldfusion", "cockroachdb", "progress", "hanadb", "adabas",
		"filemaker", "instantdb", "interbase", "netezza", "pervasive", "pointbase",
		"clickhouse":
		return "sql"
	case "cassandra", "redis", "memcached", "mongodb", "elasticsearch", "opensearch":
		return db
	}
	return "db"
}

// service returns the Datadog service name.
func (e *encoder) service() string {
	svc := e.look(sServiceName)
	if (svc == "" || strings.HasPrefix(svc, "unknown_service")) && e.cfg.service != "" {
		return e.cfg.service
	}
	if svc == "" {
		return defaultServiceName
	}
	return svc
}

// exceptionInfo describes a span's exception events.
type exceptionInfo struct {
	has                 bool
	message, typ, stack string
}

func (e *encoder) exceptions(events []sdktrace.Event) {
	e.exc = exceptionInfo{}
	last := -1
	for i := range events {
		if events[i].Name == "exception" {
			last = i
		}
	}
	if last < 0 {
		return
	}
	e.exc.has = true
	for _, kv := range events[last].Attributes {
		switch kv.Key {
		case "exception.message":
			e.exc.message = valueText(kv.Value)
		case "exception.type":
			e.exc.typ = valueText(kv.Value)
		case "exception.stacktrace":
			e.exc.stack = valueText(kv.Value)
		}
	}
}

// ddTraceState is what a Datadog tracer propagated in the dd member of the
// W3C tracestate.
type ddTraceState struct {
	priority    float64
	hasPriority bool
	origin, dm  string
}

func parseDDTraceState(ts trace.TraceState) (d ddTraceState) {
	v := ts.Get("dd")
	for v != "" {
		var m string
		m, v, _ = strings.Cut(v, ";")
		k, val, ok := strings.Cut(m, ":")
		if !ok {
			continue
		}
		switch k {
		case "s":
			if p, err := strconv.ParseInt(val, 10, 32); err == nil {
				d.priority, d.hasPriority = float64(p), true
			}
		case "o":
			d.origin = strings.ReplaceAll(val, "~", "=")
		case "t.dm":
			d.dm = strings.ReplaceAll(val, "~", "=")
		}
	}
	return d
}

// appendSpan converts s and writes it into e.b.
func (e *encoder) appendSpan(s sdktrace.ReadOnlySpan, pid trace.SpanID, root, native bool) {
	e.res = e.resourceInfo(s.Resource())
	attrs := s.Attributes()
	e.collect(attrs)
	e.anySlots = e.sp.has | e.res.slots.has
	events := s.Events()
	e.exceptions(events)
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
	e.str(e.service())
	e.field("name")
	e.strOr(e.operationName(kind))
	e.field("resource")
	e.strOr(e.resourceName(s.Name(), kind))
	e.field("trace_id")
	e.b = appendUint64(e.b, be64(tid[8:]))
	e.field("span_id")
	sid := sc.SpanID()
	e.b = appendUint64(e.b, be64(sid[:]))
	e.field("parent_id")
	e.b = appendUint64(e.b, be64(pid[:]))
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
	var dd ddTraceState
	if root && sc.TraceState().Len() > 0 {
		dd = parseDDTraceState(sc.TraceState())
	}
	e.field("meta")
	e.writeMeta(s, sc, attrs, events, links, status, kind, root, native, dd)
	e.field("metrics")
	e.writeMetrics(attrs, root, dd, sc.TraceState())
	e.field("type")
	e.str(e.spanType(kind))
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

func (e *encoder) strOr(s string, b []byte) {
	if b != nil {
		e.strb(b)
		return
	}
	e.str(s)
}

// isFixedKey reports whether the mapping writes meta key k itself,
// unconditionally, before or instead of an attribute of the same key.
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
		"_dd.origin":
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
	e.str(k)
	e.str(v)
}

func (e *encoder) fixedMetaBytes(k string, v []byte) {
	if !e.clean {
		e.metaBytes(k, v)
		return
	}
	e.mapN++
	e.str(k)
	e.strb(v)
}

func (e *encoder) meta(k, v string) {
	if e.add(k, "") {
		e.str(v)
	}
}

func (e *encoder) metaBytes(k string, v []byte) {
	if e.add(k, "") {
		e.strb(v)
	}
}

func (e *encoder) metaValue(prefix, suffix string, v attribute.Value) {
	if !e.add(prefix, suffix) {
		return
	}
	if v.Type() == attribute.STRING {
		e.str(v.AsString())
		return
	}
	e.scratch = appendValueText(e.scratch[:0], v)
	e.strb(e.scratch)
}

func (e *encoder) metric(prefix, suffix string, f float64) {
	if e.add(prefix, suffix) {
		e.b = appendFloat64(e.b, f)
	}
}

func (e *encoder) writeMeta(s sdktrace.ReadOnlySpan, sc trace.SpanContext, attrs []attribute.KeyValue, events []sdktrace.Event,
	links []sdktrace.Link, status sdktrace.Status, kind trace.SpanKind, root, native bool, dd ddTraceState) {
	e.openMap()
	scope := s.InstrumentationScope()
	e.clean = !e.spanFixed && !e.res.fixed && !e.tagsFixed && scope.Attributes.Len() == 0
	if scope.Attributes.Len() > 0 {
		for it := scope.Attributes.Iter(); it.Next(); {
			kv := it.Attribute()
			e.metaValue(string(kv.Key), "", kv.Value)
		}
	}
	tid := sc.TraceID()
	e.scratch = appendHex(e.scratch[:0], tid[:])
	e.fixedMetaBytes("otel.trace_id", e.scratch)
	if root && be64(tid[:8]) != 0 {
		e.scratch = appendHex(e.scratch[:0], tid[:8])
		e.fixedMetaBytes("_dd.p.tid", e.scratch)
	}
	if !native && len(events) > 0 {
		e.json = appendEventsJSON(e.json[:0], events)
		e.fixedMetaBytes("events", e.json)
	}
	if e.exc.has {
		e.fixedMeta("_dd.span_events.has_exception", "true")
	}
	if !native && len(links) > 0 {
		e.json = appendLinksJSON(e.json[:0], links)
		e.fixedMetaBytes("_dd.span_links", e.json)
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
	e.fixedMeta("span.kind", spanKindText(kind))
	if g, ok := e.grpcStatusCode(); ok {
		if g.Type() == attribute.STRING {
			e.fixedMeta("rpc.grpc.status_code", g.AsString())
		} else {
			e.scratch = appendValueText(e.scratch[:0], g)
			e.fixedMetaBytes("rpc.grpc.status_code", e.scratch)
		}
	}
	if ts := sc.TraceState(); ts.Len() > 0 {
		e.scratch = e.scratch[:0]
		ts.Walk(func(k, v string) bool {
			if len(e.scratch) > 0 {
				e.scratch = append(e.scratch, ',')
			}
			e.scratch = append(append(append(e.scratch, k...), '='), v...)
			return true
		})
		e.fixedMetaBytes("w3c.tracestate", e.scratch)
	}
	for _, kv := range attrs {
		if t := kv.Value.Type(); t == attribute.INT64 || t == attribute.FLOAT64 || kv.Key == "analytics.event" {
			continue
		}
		if p, sfx, ok := ddKey(string(kv.Key)); ok {
			e.metaValue(p, sfx, kv.Value)
		}
	}
	if v := e.lookNorm(sServiceVersion); v != "" {
		e.meta("version", v)
	}
	if status.Code == codes.Error {
		e.errorMeta(status.Description)
	}
	if v := e.lookNorm(sDeploymentEnvironmentName, sDeploymentEnvironment); v != "" {
		e.meta("env", v)
	}
	e.writeResourceMeta()
	if v := e.look(sDBNamespace); v != "" {
		e.meta("db.name", v)
	}
	if root {
		if dd.dm != "" {
			e.fixedMeta("_dd.p.dm", dd.dm)
		} else {
			e.fixedMeta("_dd.p.dm", defaultDecisionMaker)
		}
		if dd.origin != "" {
			e.fixedMeta("_dd.origin", dd.origin)
		}
	}
	if e.cfg.env != "" {
		e.meta("env", e.cfg.env)
	}
	if e.cfg.version != "" {
		e.meta("version", e.cfg.version)
	}
	for _, t := range e.cfg.tags {
		e.meta(t.key, t.value)
	}
	e.closeMap()
}

// errorMeta writes error.message, error.type and error.stack.
func (e *encoder) errorMeta(description string) {
	switch {
	case description != "":
		e.fixedMeta("error.message", description)
	case e.exc.message != "":
		e.fixedMeta("error.message", e.exc.message)
	default:
		// As the Agent does: a textual HTTP status code names the error.
		for _, sl := range [...]slot{sHTTPStatusCode, sHTTPResponseStatusCode} {
			v, ok := e.sp.get(sl)
			if !ok || v.Type() != attribute.STRING || v.AsString() == "" {
				continue
			}
			code := v.AsString()
			n, _ := strconv.Atoi(code)
			if text := http.StatusText(n); text != "" {
				e.scratch = append(append(append(e.scratch[:0], code...), ' '), text...)
				e.fixedMetaBytes("error.message", e.scratch)
			} else {
				e.fixedMeta("error.message", code)
			}
			break
		}
	}
	if e.exc.typ != "" {
		e.fixedMeta("error.type", e.exc.typ)
	}
	if e.exc.stack != "" {
		e.fixedMeta("error.stack", e.exc.stack)
	}
}

// grpcStatusCode looks up the gRPC status code as the Agent does.
func (e *encoder) grpcStatusCode() (attribute.Value, bool) {
	if v, ok := e.lookValue(sRPCGRPCStatusCode, sGRPCCode, sRPCGRPCStatusCodeDotted, sGRPCStatusCode); ok {
		return v, true
	}
	name := e.look(sRPCSystemName)
	if name == "grpc" || (name == "" && e.look(sRPCSystem) == "grpc") {
		return e.lookValue(sRPCResponseStatusCode)
	}
	return attribute.Value{}, false
}

// lookValue is look returning the value itself, so that numbers need not
// become strings.
func (e *encoder) lookValue(keys ...slot) (attribute.Value, bool) {
	for _, s := range keys {
		if e.anySlots&(1<<s) == 0 {
			continue
		}
		for _, src := range [...]*attrSlots{&e.sp, &e.res.slots} {
			if v, ok := src.get(s); ok && !emptyText(v) {
				return v, true
			}
		}
	}
	return attribute.Value{}, false
}

// emptyText reports whether v's text is empty.
func emptyText(v attribute.Value) bool {
	switch v.Type() {
	case attribute.STRING, attribute.BYTESLICE:
		return v.AsString() == ""
	case attribute.EMPTY:
		return true
	}
	return false
}

// httpStatusCode looks up the HTTP status code as an integer: numeric
// values first, then text, for each key.
func (e *encoder) httpStatusCode() (int64, bool) {
	for _, sl := range [...]slot{sHTTPStatusCode, sHTTPResponseStatusCode} {
		for _, src := range [...]*attrSlots{&e.sp, &e.res.slots} {
			if v, ok := src.get(sl); ok {
				switch v.Type() {
				case attribute.INT64:
					return v.AsInt64(), true
				case attribute.FLOAT64:
					return int64(v.AsFloat64()), true
				}
			}
		}
		for _, src := range [...]*attrSlots{&e.sp, &e.res.slots} {
			if v, ok := src.get(sl); ok && v.Type() == attribute.STRING {
				if n, ok := parseIntegral(v.AsString()); ok {
					return n, true
				}
			}
		}
	}
	return 0, false
}

// measured reports whether _dd.measured is 1.
func (e *encoder) measured() bool {
	for _, src := range [...]*attrSlots{&e.sp, &e.res.slots} {
		if v, ok := src.get(sDDMeasured); ok {
			switch v.Type() {
			case attribute.INT64:
				return v.AsInt64() == 1
			case attribute.FLOAT64:
				return int64(v.AsFloat64()) == 1
			}
		}
	}
	for _, src := range [...]*attrSlots{&e.sp, &e.res.slots} {
		if v, ok := src.get(sDDMeasured); ok && v.Type() == attribute.STRING {
			n, ok := parseIntegral(v.AsString())
			return ok && n == 1
		}
	}
	return false
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

// sampleRate decodes the head-sampling probability an OpenTelemetry sampler
// recorded in the ot member of the W3C tracestate, as the Agent does: the
// threshold th:<hex> (probability 1 - th/2^56), else the older p:<n> (2^-n).
func sampleRate(ts trace.TraceState) (float64, bool) {
	v := ts.Get("ot")
	var p string
	for v != "" {
		var m string
		m, v, _ = strings.Cut(v, ";")
		switch k, val, _ := strings.Cut(m, ":"); k {
		case "th":
			if len(val) == 0 || len(val) > 14 {
				return 0, false
			}
			t, err := strconv.ParseUint(val, 16, 64)
			if err != nil {
				return 0, false
			}
			t <<= 4 * (14 - len(val))
			return 1 - float64(t)/(1<<56), true
		case "p":
			p = val
		}
	}
	if p == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(p, 10, 8); err == nil && n < 63 {
		return math.Ldexp(1, -int(n)), true
	}
	return 0, false
}

func (e *encoder) writeMetrics(attrs []attribute.KeyValue, root bool, dd ddTraceState, ts trace.TraceState) {
	e.openMap()
	if code, ok := e.httpStatusCode(); ok && code >= 0 {
		e.metric("http.status_code", "", float64(code))
	}
	if e.measured() {
		e.metric("_dd.measured", "", 1)
	}
	for _, kv := range attrs {
		var f float64
		switch kv.Value.Type() {
		case attribute.INT64:
			f = float64(kv.Value.AsInt64())
		case attribute.FLOAT64:
			f = kv.Value.AsFloat64()
		default:
			if kv.Key == "analytics.event" {
				if b, err := strconv.ParseBool(valueText(kv.Value)); err == nil {
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
		if p, sfx, ok := ddKey(string(kv.Key)); ok {
			e.metric(p, sfx, f)
		}
	}
	if ts.Len() > 0 {
		if rate, ok := sampleRate(ts); ok {
			e.metric("_sample_rate", "", rate)
		}
	}
	if root {
		if dd.hasPriority {
			e.metric("_sampling_priority_v1", "", dd.priority)
		} else {
			e.metric("_sampling_priority_v1", "", 1)
		}
	}
	e.closeMap()
}

func (e *encoder) writeNativeLinks(links []sdktrace.Link) {
	e.b = appendArrayHeader(e.b, uint32(len(links)))
	for _, l := range links {
		tid := l.SpanContext.TraceID()
		sid := l.SpanContext.SpanID()
		high := be64(tid[:8])
		ts := l.SpanContext.TraceState()
		n := uint32(3) // trace_id, span_id, flags
		if high != 0 {
			n++
		}
		if len(l.Attributes) > 0 {
			n++
		}
		if ts.Len() > 0 {
			n++
		}
		e.b = appendMapHeader(e.b, n)
		e.key("trace_id")
		e.b = appendUint64(e.b, be64(tid[8:]))
		if high != 0 {
			e.key("trace_id_high")
			e.b = appendUint64(e.b, high)
		}
		e.key("span_id")
		e.b = appendUint64(e.b, be64(sid[:]))
		if len(l.Attributes) > 0 {
			e.key("attributes")
			e.openMap()
			for _, kv := range l.Attributes {
				e.metaValue(string(kv.Key), "", kv.Value)
			}
			e.closeMap()
		}
		if ts.Len() > 0 {
			e.key("tracestate")
			e.scratch = appendTraceState(e.scratch[:0], ts)
			e.strb(e.scratch)
		}
		e.key("flags")
		e.b = appendUint64(e.b, uint64(l.SpanContext.TraceFlags())|1<<31)
	}
}

func (e *encoder) writeNativeEvents(events []sdktrace.Event) {
	e.b = appendArrayHeader(e.b, uint32(len(events)))
	for i := range events {
		ev := &events[i]
		n := uint32(2)
		if len(ev.Attributes) > 0 {
			n++
		}
		e.b = appendMapHeader(e.b, n)
		e.key("time_unix_nano")
		e.b = appendUint64(e.b, unixNano(ev))
		e.key("name")
		e.str(ev.Name)
		if len(ev.Attributes) > 0 {
			e.key("attributes")
			e.openMap()
			for _, kv := range ev.Attributes {
				if e.add(string(kv.Key), "") {
					e.typedValue(kv.Value)
				}
			}
			e.closeMap()
		}
	}
}

// typedValue writes a native span event attribute value.
func (e *encoder) typedValue(v attribute.Value) {
	b := e.b
	switch v.Type() {
	case attribute.BOOL:
		b = append(b, 0x82)
		b = appendString(b, "type")
		b = append(b, 1)
		b = appendString(b, "bool_value")
		b = appendBool(b, v.AsBool())
	case attribute.INT64:
		b = append(b, 0x82)
		b = appendString(b, "type")
		b = append(b, 2)
		b = appendString(b, "int_value")
		b = appendInt64(b, v.AsInt64())
	case attribute.FLOAT64:
		b = append(b, 0x82)
		b = appendString(b, "type")
		b = append(b, 3)
		b = appendString(b, "double_value")
		b = appendFloat64(b, v.AsFloat64())
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE, attribute.SLICE:
		b = append(b, 0x82)
		b = appendString(b, "type")
		b = append(b, 4)
		b = appendString(b, "array_value")
		b = append(b, 0x81)
		b = appendString(b, "values")
		e.b = b
		e.typedArray(v)
		return
	case attribute.STRING:
		b = append(b, 0x82)
		b = appendString(b, "type")
		b = append(b, 0)
		b = appendString(b, "string_value")
		b = appendString(b, v.AsString())
	default: // bytes, maps and empty values travel as their text
		b = append(b, 0x82)
		b = appendString(b, "type")
		b = append(b, 0)
		b = appendString(b, "string_value")
		e.scratch = appendValueText(e.scratch[:0], v)
		b = appendStringBytes(b, e.scratch)
	}
	e.b = b
}

func (e *encoder) typedArray(v attribute.Value) {
	switch v.Type() {
	case attribute.BOOLSLICE:
		xs := v.AsBoolSlice()
		e.b = appendArrayHeader(e.b, uint32(len(xs)))
		for _, x := range xs {
			e.typedValue(attribute.BoolValue(x))
		}
	case attribute.INT64SLICE:
		xs := v.AsInt64Slice()
		e.b = appendArrayHeader(e.b, uint32(len(xs)))
		for _, x := range xs {
			e.typedValue(attribute.Int64Value(x))
		}
	case attribute.FLOAT64SLICE:
		xs := v.AsFloat64Slice()
		e.b = appendArrayHeader(e.b, uint32(len(xs)))
		for _, x := range xs {
			e.typedValue(attribute.Float64Value(x))
		}
	case attribute.STRINGSLICE:
		xs := v.AsStringSlice()
		e.b = appendArrayHeader(e.b, uint32(len(xs)))
		for _, x := range xs {
			e.typedValue(attribute.StringValue(x))
		}
	case attribute.SLICE:
		xs := v.AsSlice()
		e.b = appendArrayHeader(e.b, uint32(len(xs)))
		for _, x := range xs {
			switch x.Type() {
			case attribute.BOOL, attribute.INT64, attribute.FLOAT64, attribute.STRING:
				e.typedValue(x)
			default: // arrays hold no arrays: nested values travel as text
				e.typedValue(attribute.StringValue(valueText(x)))
			}
		}
	}
}

func unixNano(ev *sdktrace.Event) uint64 {
	if ev.Time.IsZero() {
		return 0
	}
	return uint64(ev.Time.UnixNano())
}

// appendEventsJSON writes events as the Agent's OTLP path does for meta
// "events".
func appendEventsJSON(b []byte, events []sdktrace.Event) []byte {
	b = append(b, '[')
	for i := range events {
		ev := &events[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		wrote := false
		if t := unixNano(ev); t != 0 {
			b = append(b, `"time_unix_nano":`...)
			b = strconv.AppendUint(b, t, 10)
			wrote = true
		}
		if ev.Name != "" {
			if wrote {
				b = append(b, ',')
			}
			b = append(b, `"name":`...)
			b = appendJSONString(b, ev.Name)
			wrote = true
		}
		if len(ev.Attributes) > 0 {
			if wrote {
				b = append(b, ',')
			}
			b = append(b, `"attributes":{`...)
			for j, kv := range ev.Attributes {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, string(kv.Key))
				b = append(b, ':')
				b = appendJSONValue(b, kv.Value)
			}
			b = append(b, '}')
			wrote = true
		}
		if ev.DroppedAttributeCount > 0 {
			if wrote {
				b = append(b, ',')
			}
			b = append(b, `"dropped_attributes_count":`...)
			b = strconv.AppendInt(b, int64(ev.DroppedAttributeCount), 10)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendLinksJSON writes links as the Agent's OTLP path does for meta
// "_dd.span_links" (with proper JSON escaping).
func appendLinksJSON(b []byte, links []sdktrace.Link) []byte {
	b = append(b, '[')
	for i := range links {
		l := &links[i]
		if i > 0 {
			b = append(b, ',')
		}
		tid := l.SpanContext.TraceID()
		sid := l.SpanContext.SpanID()
		b = append(b, `{"trace_id":"`...)
		b = appendHex(b, tid[:])
		b = append(b, `","span_id":"`...)
		b = appendHex(b, sid[:])
		b = append(b, '"')
		if ts := l.SpanContext.TraceState(); ts.Len() > 0 {
			b = append(b, `,"tracestate":"`...)
			first := true
			ts.Walk(func(k, v string) bool {
				if !first {
					b = append(b, ',')
				}
				first = false
				b = appendJSONStringBody(b, k)
				b = append(b, '=')
				b = appendJSONStringBody(b, v)
				return true
			})
			b = append(b, '"')
		}
		if len(l.Attributes) > 0 {
			b = append(b, `,"attributes":{`...)
			for j, kv := range l.Attributes {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, string(kv.Key))
				b = append(b, ':')
				switch kv.Value.Type() {
				case attribute.STRING:
					b = appendJSONString(b, kv.Value.AsString())
				case attribute.BOOL, attribute.INT64, attribute.FLOAT64, attribute.BYTESLICE, attribute.EMPTY:
					// Their text needs no escaping.
					b = append(appendValueText(append(b, '"'), kv.Value), '"')
				default:
					b = appendJSONString(b, valueText(kv.Value))
				}
			}
			b = append(b, '}')
		}
		if l.DroppedAttributeCount > 0 {
			b = append(b, `,"dropped_attributes_count":`...)
			b = strconv.AppendInt(b, int64(l.DroppedAttributeCount), 10)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendTraceState(b []byte, ts trace.TraceState) []byte {
	first := true
	ts.Walk(func(k, v string) bool {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(append(append(b, k...), '='), v...)
		return true
	})
	return b
}

func appendHex(b []byte, id []byte) []byte {
	for _, c := range id {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

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

func spanKindText(k trace.SpanKind) string {
	switch k {
	case trace.SpanKindInternal:
		return "internal"
	case trace.SpanKindServer:
		return "server"
	case trace.SpanKindClient:
		return "client"
	case trace.SpanKindProducer:
		return "producer"
	case trace.SpanKindConsumer:
		return "consumer"
	}
	return "unspecified"
}

// normalizeTagValue is the Agent's tag value normalization: letters lower
// cased, letters, digits and ":./-" kept, each run of other characters
// (invalid UTF-8 included) replaced by one "_", a trailing run dropped, at
// most 200 characters. Already normal values cost nothing.
func normalizeTagValue(s string) string {
	if isNormalTagValue(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	chars := 0
	inRun := false // the last thing written is the "_" of a run
	for i, r := range s {
		width := utf8.RuneLen(r)
		if r == utf8.RuneError {
			_, width = utf8.DecodeRuneInString(s[i:])
		}
		if unicode.IsUpper(r) {
			// Lower case, unless that changes the width (as the Agent does).
			if low := unicode.ToLower(r); utf8.RuneLen(low) == utf8.RuneLen(r) {
				r = low
			}
		}
		switch {
		case r == ':' || r == '.' || r == '/' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b = utf8.AppendRune(b, r)
			inRun = false
		case !inRun:
			b = append(b, '_')
			inRun = true
		}
		chars++
		if chars >= maxTagValueLen || i+width >= 2*maxTagValueLen {
			break
		}
	}
	if inRun {
		b = b[:len(b)-1]
	}
	return string(b)
}

func isTagValueByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == ':' || c == '.' || c == '/' || c == '-'
}

func isNormalTagValue(s string) bool {
	if len(s) > maxTagValueLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isTagValueByte(c):
		case c == '_':
			// Only before a character that is itself valid.
			if i+1 == len(s) || !isTagValueByte(s[i+1]) {
				return false
			}
			i++
		default:
			return false
		}
	}
	return true
}
