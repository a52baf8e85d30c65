package ddname

import (
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"go.opentelemetry.io/otel/trace"
)

const (
	// DefaultService names the service of a span when nothing else does,
	// as the Agent's OTLP path names it.
	DefaultService = "otlpresourcenoservicename"
	// MaxResourceLen is the length at which the resource is cut, as the
	// Agent cuts it.
	MaxResourceLen = 5000
)

// Service returns the Datadog service: service.name; when that is unset or
// the SDK's unknown_service:* default, fallback (the configured service);
// else DefaultService.
func (l *Lookup) Service(fallback string) string {
	svc := l.Text(AttrServiceName)
	if (svc == "" || strings.HasPrefix(svc, "unknown_service")) && fallback != "" {
		return fallback
	}
	if svc == "" {
		return DefaultService
	}
	return svc
}

// AppendOperation returns the Datadog operation name. A name taken whole
// (an attribute value, a constant) is returned as s, with dst unchanged; a
// name built from parts is appended to dst, and s is empty.
func (l *Lookup) AppendOperation(dst []byte, kind trace.SpanKind) (s string, out []byte) {
	if v := l.Norm(AttrOperationName); v != "" {
		return v, dst
	}
	client := kind == trace.SpanKindClient
	server := kind == trace.SpanKindServer
	if l.Text(AttrHTTPRequestMethod, AttrHTTPMethod) != "" {
		if server {
			return "http.server.request", dst
		}
		if client {
			return "http.client.request", dst
		}
	}
	if v := l.Norm(AttrDBSystemName, AttrDBSystem); v != "" && client {
		return "", join(dst, v, ".query")
	}
	if sys, op := l.Norm(AttrMessagingSystem), l.Norm(AttrMessagingOperation); sys != "" && op != "" {
		switch kind {
		case trace.SpanKindClient, trace.SpanKindServer, trace.SpanKindConsumer, trace.SpanKindProducer:
			return "", join(dst, sys, ".", op)
		}
	}
	if rpc := l.Norm(AttrRPCSystem); rpc != "" {
		switch {
		case rpc == "aws-api" && client:
			if svc := l.Norm(AttrRPCService); svc != "" {
				return "", join(dst, "aws.", svc, ".request")
			}
			return "aws.client.request", dst
		case client:
			return "", join(dst, rpc, ".client.request")
		case server:
			return "", join(dst, rpc, ".server.request")
		}
	}
	if client {
		if p, n := l.Norm(AttrFaaSInvokedProvider), l.Norm(AttrFaaSInvokedName); p != "" && n != "" {
			return "", join(dst, p, ".", n, ".invoke")
		}
	}
	if server {
		if t := l.Norm(AttrFaaSTrigger); t != "" {
			return "", join(dst, t, ".invoke")
		}
	}
	if l.Text(AttrGraphQLOperationType) != "" {
		return "graphql.server.request", dst
	}
	switch {
	case server:
		if p := l.Norm(AttrNetworkProtocolName); p != "" {
			return "", join(dst, p, ".server.request")
		}
		return "server.request", dst
	case client:
		if p := l.Norm(AttrNetworkProtocolName); p != "" {
			return "", join(dst, p, ".client.request")
		}
		return "client.request", dst
	case kind == trace.SpanKindProducer:
		return "Producer", dst
	case kind == trace.SpanKindConsumer:
		return "Consumer", dst
	}
	return "Internal", dst
}

// join appends parts to buf.
func join(buf []byte, parts ...string) []byte {
	for _, p := range parts {
		buf = append(buf, p...)
	}
	return buf
}

// AppendResource returns the Datadog resource of a span named name, cut
// to MaxResourceLen bytes, the way AppendOperation returns a name: whole
// as s with dst unchanged, or built from parts and appended to dst (s
// empty).
func (l *Lookup) AppendResource(dst []byte, name string, kind trace.SpanKind) (s string, out []byte) {
	s, out = l.resource(dst, name, kind)
	if len(out)-len(dst) > MaxResourceLen {
		out = out[:len(dst)+MaxResourceLen]
	} else if len(s) > MaxResourceLen {
		s = s[:MaxResourceLen]
	}
	return s, out
}

func (l *Lookup) resource(dst []byte, name string, kind trace.SpanKind) (string, []byte) {
	if v := l.Text(AttrResourceName); v != "" {
		return v, dst
	}
	pair := func(a, b string) (string, []byte) {
		if b == "" {
			return a, dst
		}
		return "", append(append(append(dst, a...), ' '), b...)
	}
	if m := l.Text(AttrHTTPRequestMethod, AttrHTTPMethod); m != "" {
		if m == "_OTHER" {
			m = "HTTP"
		}
		switch kind {
		case trace.SpanKindClient:
			return pair(m, l.Text(AttrURLTemplate))
		case trace.SpanKindServer:
			return pair(m, l.Text(AttrHTTPRoute))
		}
		return m, dst
	}
	if m := l.Text(AttrMessagingOperation); m != "" {
		return pair(m, l.Text(AttrMessagingDestination, AttrMessagingDestinationName))
	}
	if m := l.Text(AttrRPCMethod); m != "" {
		return pair(m, l.Text(AttrRPCService))
	}
	if m := l.Text(AttrGraphQLOperationType); m != "" {
		return pair(m, l.Text(AttrGraphQLOperationName))
	}
	if l.Text(AttrDBSystemName, AttrDBSystem) != "" {
		if st := l.Text(AttrDBStatement, AttrDBQueryText); st != "" {
			return st, dst
		}
	}
	return name, dst
}

// Type returns the Datadog span type: span.type; server → web; client
// with a database system → that database's type (DBType); client → http;
// else custom.
func (l *Lookup) Type(kind trace.SpanKind) string {
	if typ := l.Text(AttrSpanType); typ != "" {
		return typ
	}
	switch kind {
	case trace.SpanKindServer:
		return "web"
	case trace.SpanKindClient:
		db := l.Norm(AttrDBSystemName, AttrDBSystem)
		if db == "" {
			return "http"
		}
		return DBType(db)
	}
	return "custom"
}

// DBType maps a normalized db.system value to a Datadog span type.
func DBType(db string) string {
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

// Names is what Datadog calls a span.
type Names struct {
	Service   string
	Operation string
	Resource  string
	Type      string
}

// FromStart names a span from what a sampler sees when the span starts:
// its start attributes, kind and name. service is the configured service
// (WithService, DD_SERVICE), the fallback of a span whose service.name is
// unset or the SDK default. The result is exactly what the mapping
// computes for a span with these attributes and no resource attributes.
//
// What a start-time view cannot see, and so may name differently from the
// span that is finally exported:
//   - resource attributes: a service.name, operation.name, resource.name,
//     span.type or any other looked-up key set on the resource (the span's
//     own attributes win over them; the resource's fill in what the span
//     lacks). A caller that knows the resource's service.name and wants the
//     exported service may pass it as service when it is not the SDK's
//     unknown_service:* default;
//   - attributes set after the start (SetAttributes), such as an
//     http.route known only once the request is routed;
//   - changes the SDK makes to the attributes it keeps: span limits (count
//     and value length) and, of duplicate keys, the last value (FromStart
//     takes the last one too); a later SetName (the resource falls back to
//     the span name).
//
// It costs no allocation when the operation name and the resource are
// taken whole (an attribute, a constant, the span name) and one when
// either or both are built from parts (a 128-byte buffer on the stack
// holds them); a value that is not already a normal tag value (upper
// case, spaces) costs one more each time it is normalized.
func FromStart(attrs []attribute.KeyValue, kind trace.SpanKind, name, service string) Names {
	var sp Slots
	// The SDK keeps the last value of a duplicated key: collect backwards,
	// the first set winning.
	for i := len(attrs) - 1; i >= 0; i-- {
		if sl, ok := SlotOf(string(attrs[i].Key)); ok {
			sp.Set(sl, attrs[i].Value)
		}
	}
	l := NewLookup(&sp, nil)
	// Built parts go into one buffer and become one string.
	var arr [128]byte
	op, buf := l.AppendOperation(arr[:0], kind)
	n := len(buf)
	res, buf := l.AppendResource(buf, name, kind)
	if len(buf) > 0 {
		all := string(buf)
		if op == "" {
			op = all[:n]
		}
		if res == "" {
			res = all[n:]
		}
	}
	return Names{Service: l.Service(service), Operation: op, Resource: res, Type: l.Type(kind)}
}
