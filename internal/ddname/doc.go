// Package ddname computes what Datadog will call an OpenTelemetry span:
// its service, operation name, resource and span type, by the rules of the
// Datadog Agent's own OTLP ingestion (see the mapping table in
// ddexport/mapping.go). It is shared by ddexport's mapping, which names
// every span it sends, and by the sampler, which must match its rules
// against exactly the names that go on the wire.
//
// Attributes are looked up through Slots: one pass over an attribute list
// records the keys the mapping reads, and a Lookup then answers "for each
// key in order, the span's attribute, then the resource's; the first
// non-empty text wins" with array reads. The names are built without
// allocating: a name taken whole from an attribute is returned as is, one
// built from parts is appended to the caller's buffer.
//
// FromStart is the entry point for a sampler, which sees a span at its
// start: its attributes, kind and name, and no resource.
//
// The package also holds the text rendering of attribute values the
// mapping shares (Text, AppendText, the JSON writers) and the Agent's tag
// value normalization.
package ddname
