package ddexport

import sdktrace "go.opentelemetry.io/otel/sdk/trace"

// encoder converts OpenTelemetry spans into Datadog Agent payloads. It owns
// reused, capped buffers and is not safe for concurrent use.
type encoder struct {
	version APIVersion
	cfg     *mapConfig
	// TODO(mapping/encoding owner): buffers, string table, chunk storage.
}

// newEncoder returns an encoder for the given wire version and mapping
// configuration.
func newEncoder(v APIVersion, cfg *mapConfig) *encoder {
	return &encoder{version: v, cfg: cfg}
}

// chunks groups spans by trace ID: one chunk per trace ID, chunks in order of
// first appearance, spans in input order. The result reuses the encoder's
// memory and is valid until the next call to chunks or release.
func (e *encoder) chunks(spans []sdktrace.ReadOnlySpan) [][]sdktrace.ReadOnlySpan {
	panic("TODO")
}

// encode converts and encodes the given chunks into one request body for
// e.version. nativeEvents selects native span_events/span_links (v0.4 only,
// when the Agent's /info says it understands them); otherwise events and
// links travel as meta JSON. The body is valid until the next call to encode
// or release.
func (e *encoder) encode(chunks [][]sdktrace.ReadOnlySpan, nativeEvents bool) []byte {
	panic("TODO")
}

// release drops every reference to spans (ExportSpans must not retain them)
// and shrinks buffers that grew past their cap.
func (e *encoder) release() {}
