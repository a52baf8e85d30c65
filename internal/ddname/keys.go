package ddname

import (
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// The request headers: http.request.header.<h> is written
// http.request.headers.<h>.
const (
	headerKey  = "http.request.header."
	headersKey = "http.request.headers."
)

// renames are the attribute keys written under another Datadog key, as
// the Agent's OpenTelemetry mapping renames them (HTTP semantic
// conventions). Key's switch and this table say the same; a test checks it.
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

// Key returns the Datadog meta or metrics key an attribute key is written
// under, as a prefix and an optional suffix (a request header's key is
// "http.request.headers." and the header's name), or false for the keys
// the mapping turns into the span's own fields (service.name,
// operation.name, resource.name, span.type).
func Key(k string) (prefix, suffix string, ok bool) {
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
	if rest, found := strings.CutPrefix(k, headerKey); found {
		return headersKey, rest, true
	}
	return k, "", true
}

// Sources returns the attribute keys written under the Datadog key dk, in
// no particular order: dk itself unless a rename takes it, and the keys
// renamed to it.
func Sources(dk string) []string {
	candidates := []string{dk}
	for _, r := range renames {
		candidates = append(candidates, r[0])
	}
	if rest, ok := strings.CutPrefix(dk, headersKey); ok {
		candidates = append(candidates, headerKey+rest)
	}
	var out []string
	for _, k := range candidates {
		if p, s, ok := Key(k); ok && p+s == dk {
			out = append(out, k)
		}
	}
	return out
}

// SpanKind returns the span.kind meta value of k: the lower-case
// OpenTelemetry name, "unspecified" for the zero kind.
func SpanKind(k trace.SpanKind) string {
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
