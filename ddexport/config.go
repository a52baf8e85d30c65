package ddexport

// APIVersion selects the Datadog Agent endpoint and wire format.
type APIVersion uint8

const (
	// V04 sends msgpack to /v0.4/traces (the default). Span events and
	// links are native when the Agent supports them.
	V04 APIVersion = iota + 1
	// V05 sends msgpack with a string table to /v0.5/traces. Payloads are
	// smaller; span events and links travel as meta JSON.
	V05
)

// mapConfig is what the OpenTelemetry → Datadog mapping needs from the
// exporter's configuration. It is resolved once, in New (options beat
// DD_* environment variables, which beat defaults), and read-only after.
type mapConfig struct {
	// service, env and version are used when neither the span nor its
	// resource names them (see mapping.go for the lookup order).
	service string
	env     string
	version string
	// tags (WithTags / DD_TAGS) are added to every span's meta; a span or
	// resource attribute of the same key wins.
	tags []tag
}

// tag is one key/value pair of extra tags, kept in a slice (not a map) so
// that iteration is cheap and deterministic.
type tag struct{ key, value string }
