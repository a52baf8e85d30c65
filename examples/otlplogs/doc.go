// Otlplogs shows slog records fanned out, with slog.NewMultiHandler, to JSON
// logs correlated for Datadog and to OpenTelemetry (OTLP) logs, without
// writing anything twice:
//
//	cd examples/otlplogs && go run .
//
// One branch is ddslog's Handler over slog's JSON handler: its lines carry
// dd.trace_id and dd.span_id, which Datadog reads from JSON logs, and each
// record at Info and above becomes an event of the span in its context. The
// other branch is the otelslog bridge to the OpenTelemetry log SDK (here with
// the stdout exporter; a service would use an OTLP exporter): its records
// carry the trace and span IDs in their own fields, so they get no dd.* keys,
// and the bridge adds no span events. Putting ddslog around only the JSON
// branch keeps the dd.* keys out of the OTLP records and records each log
// line on its span once.
//
// Spans go to an embedded test agent (package ddexport/ddtest); the program
// prints the JSON lines, the OTLP records, then the spans with their events.
// It lives in its own module so that the library's go.mod does not carry the
// log SDK and the stdout exporter.
package main
