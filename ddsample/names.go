package ddsample

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// What Datadog will call a span, computed from what the sampler sees at its
// start: its name, kind and start attributes. Rules must match the names
// ddexport writes on the wire, so this file follows ddexport's mapping (see
// its package documentation) for the parts a start-time sampler can see.

const (
	// defaultServiceName is ddexport's service when nothing names one.
	defaultServiceName = "otlpresourcenoservicename"
	maxResourceLen     = 5000
	maxTagValueLen     = 200
)

// spanNames are the Datadog names of a starting span.
type spanNames struct {
	service, name, resource string
}

// datadogNames returns the service, operation name and resource ddexport
// will write for a span started with these attributes, kind and name, where
// service is the configured service (the resource's service.name or
// DD_SERVICE). It is the one place that knows ddexport's naming rules.
//
// Only operation.name, resource.name, service.name and the span name are
// understood here, with the span kind as the operation name when there is
// no operation.name; ddexport's names by convention (http.server.request,
// <db.system>.query, "GET /users/:id", ...) are not reproduced. The shared
// package internal/ddname computes them all, exactly as the mapping does:
// once it exists, this function's body becomes a call into it.
func datadogNames(attrs []attribute.KeyValue, kind trace.SpanKind, spanName, service string) spanNames {
	var n spanNames
	svc, _ := lastString(attrs, "service.name")
	switch {
	case svc != "" && !(service != "" && strings.HasPrefix(svc, "unknown_service")):
		n.service = svc
	case service != "":
		n.service = service
	default:
		n.service = defaultServiceName
	}
	if op, _ := lastString(attrs, "operation.name"); op != "" {
		n.name = normalizeTagValue(op)
	}
	if n.name == "" {
		n.name = kindName(kind)
	}
	n.resource, _ = lastString(attrs, "resource.name")
	if n.resource == "" {
		n.resource = spanName
	}
	if len(n.resource) > maxResourceLen {
		n.resource = n.resource[:maxResourceLen]
	}
	return n
}

// kindName is ddexport's operation name for a span of kind k with no
// attribute that names it.
func kindName(k trace.SpanKind) string {
	switch k {
	case trace.SpanKindServer:
		return "server.request"
	case trace.SpanKindClient:
		return "client.request"
	case trace.SpanKindProducer:
		return "Producer"
	case trace.SpanKindConsumer:
		return "Consumer"
	}
	return "Internal"
}

// spanKindText is ddexport's span.kind meta value.
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

// spanEnv is the env of a starting span: the configured one, else the
// span's deployment.environment.name or deployment.environment, normalized
// as ddexport writes them.
func spanEnv(attrs []attribute.KeyValue, env string) string {
	if env != "" {
		return env
	}
	if v, _ := lastString(attrs, "deployment.environment.name"); v != "" {
		return normalizeTagValue(v)
	}
	v, _ := lastString(attrs, "deployment.environment")
	return normalizeTagValue(v)
}

// lastValue returns the value of the last attribute with key k: the one the
// SDK keeps when a key is given twice.
func lastValue(attrs []attribute.KeyValue, k string) (attribute.Value, bool) {
	for i := len(attrs) - 1; i >= 0; i-- {
		if kv := &attrs[i]; string(kv.Key) == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// lastString is lastValue for a string attribute.
func lastString(attrs []attribute.KeyValue, k string) (string, bool) {
	v, ok := lastValue(attrs, k)
	if !ok || v.Type() != attribute.STRING {
		return "", false
	}
	return v.AsString(), true
}

// renames are the attribute keys ddexport writes under another Datadog
// key, as the Agent's OpenTelemetry mapping renames them.
var renames = [...][2]string{
	{"client.address", "http.client_ip"},
	{"http.response.body.size", "http.response.content_length"},
	{"http.response.status_code", "http.status_code"},
	{"http.request.body.size", "http.request.content_length"},
	{"http.request.header.referrer", "http.referrer"},
	{"http.request.method", "http.method"},
	{"network.protocol.version", "http.version"},
	{"server.address", "http.server_name"},
	{"url.full", "http.url"},
	{"user_agent.original", "http.useragent"},
}

// Request headers: http.request.header.<h> is written http.request.headers.<h>.
const headerKey, headersKey = "http.request.header.", "http.request.headers."

// ddKey returns the Datadog key ddexport writes the attribute key k under,
// or false for the keys the mapping turns into the span's own fields
// (service.name, operation.name, resource.name, span.type).
func ddKey(k string) (string, bool) {
	for _, r := range renames {
		if r[0] == k {
			return r[1], true
		}
	}
	switch k {
	case "service.name", "operation.name", "resource.name", "span.type":
		return "", false
	}
	if rest, ok := strings.CutPrefix(k, headerKey); ok {
		return headersKey + rest, true
	}
	return k, true
}

// sourcesOf returns the attribute keys ddexport writes under the Datadog
// key dk.
func sourcesOf(dk string) []string {
	candidates := []string{dk}
	for _, r := range renames {
		candidates = append(candidates, r[0])
	}
	if rest, ok := strings.CutPrefix(dk, headersKey); ok {
		candidates = append(candidates, headerKey+rest)
	}
	var out []string
	for _, k := range candidates {
		if got, ok := ddKey(k); ok && got == dk {
			out = append(out, k)
		}
	}
	return out
}

// normalizeTagValue is the Datadog Agent's normalization of a tag value,
// which ddexport applies to the operation name and env: letters lower
// cased, letters, digits and ":./-" kept, every run of other characters
// (invalid UTF-8 included) replaced by one "_", a trailing run dropped, at
// most 200 characters (and no more than 400 bytes read). Normal values are
// returned as they are.
func normalizeTagValue(s string) string {
	if isNormalTagValue(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	chars := 0
	inRun := false
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		if unicode.IsUpper(r) {
			if low := unicode.ToLower(r); utf8.RuneLen(low) == utf8.RuneLen(r) {
				r = low
			}
		}
		switch {
		case r != utf8.RuneError && (r == ':' || r == '.' || r == '/' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)):
			b = utf8.AppendRune(b, r)
			inRun = false
		case !inRun:
			b = append(b, '_')
			inRun = true
		}
		chars++
		i += width
		if chars >= maxTagValueLen || i >= 2*maxTagValueLen {
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

// isNormalTagValue reports whether normalizeTagValue would return s as it
// is; it errs on the side of no.
func isNormalTagValue(s string) bool {
	if len(s) > maxTagValueLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isTagValueByte(c):
		case c == '_' && i+1 < len(s) && isTagValueByte(s[i+1]):
			i++
		default:
			return false
		}
	}
	return true
}
