// Package ddprop propagates trace context between services the way Datadog
// tracers do, as OpenTelemetry [propagation.TextMapPropagator]s, so that a
// service traced with OpenTelemetry continues traces started by dd-trace-go,
// dd-trace-java and the other Datadog tracers, and they continue its traces.
//
// # Propagators
//
//   - [Datadog] reads and writes Datadog's headers: x-datadog-trace-id (the
//     decimal of the trace ID's low 64 bits), x-datadog-parent-id,
//     x-datadog-sampling-priority, x-datadog-origin and x-datadog-tags (the
//     _dd.p.* trace tags, with the trace ID's high 64 bits as _dd.p.tid, at
//     most 512 bytes).
//   - [TraceContext] reads and writes W3C traceparent and tracestate, and in
//     tracestate the dd= member, as Datadog tracers do.
//   - [B3Multi] and [B3] read and write Zipkin's B3 headers (X-B3-TraceId,
//     X-B3-SpanId, X-B3-Sampled; the single header b3) as Datadog tracers
//     do, with 128-bit trace IDs and the sampling decision.
//   - [Propagator] combines them with baggage and chooses styles as Datadog
//     tracers do; [New] configures it in code and [FromEnv] from
//     DD_TRACE_PROPAGATION_STYLE, DD_TRACE_PROPAGATION_STYLE_INJECT,
//     DD_TRACE_PROPAGATION_STYLE_EXTRACT and OTEL_PROPAGATORS.
//
// Malformed headers never make a propagator panic, and never yield a partly
// valid span context: that style yields nothing, and the next one is tried.
// The one exception is Datadog tracers' own: x-datadog-tags that are too long
// (over 512 bytes) or cannot be decoded are dropped, and the trace is kept.
//
// A B3 sampling decision becomes a sampling priority as in Datadog tracers
// (keep 1, drop 0; X-B3-Sampled is read as the integer priority it holds),
// stored in the dd= member like a Datadog one; without a decision the span
// context is not sampled and carries no priority, which leaves the decision
// to this service.
//
// # The dd= tracestate member
//
// An OpenTelemetry span context has no room for the Datadog-only parts of a
// trace context, so they ride in its tracestate, in the dd= list-member
// Datadog tracers themselves write into W3C tracestate. ddslog's exporter
// reads it from each span to set _sampling_priority_v1, _dd.origin and
// _dd.p.dm on the chunk root. The format, which other code may parse without
// importing this package, is:
//
//	dd=<field>;<field>;...
//
// Each field is <name>:<value>, in this order, each optional:
//
//	s:<priority>   sampling priority, a decimal integer: -1 user reject,
//	               0 auto reject, 1 auto keep, 2 user keep
//	o:<origin>     trace origin, such as o:synthetics
//	p:<16 hex>     the last Datadog span on the trace's path (lowercase hex);
//	               recorded as _dd.parent_id on a span whose parent is remote
//	t.<key>:<val>  the propagated tag _dd.p.<key>, such as t.dm:-4 for
//	               _dd.p.dm=-4 (the sampling decision maker)
//
// Values are encoded as Datadog tracers encode them: "=" is written "~" (and
// "~" is read back as "="); ",", ";" and "~" become "_"; a run of control or
// non-ASCII characters becomes one "_"; in o: spaces too. Tag keys keep
// printable ASCII except " ", ",", "=", ";", ":" and "~", which become "_".
// The member is at most 256 bytes: tags that do not fit are left out, in
// order, but _dd.p.dm keeps its room whatever its place. There
// is no t.tid field: the high 64 bits of a 128-bit trace ID are the trace ID
// itself (a t.tid read from another tracer must match them, or the
// traceparent is rejected). Unknown fields are skipped on reading and not
// written back.
//
// The sampled flag and the priority agree: priority > 0 exactly when the
// span context is sampled. On injection a carried priority that disagrees
// with the sampled flag (the decision the OpenTelemetry SDK acted on) gives
// way to 1 or 0, and without a carried priority the flag decides alone. The
// decision maker follows, as in the W3C extraction and on the chunk root
// ddslog's exporter writes: a keep decided here is a keep by default,
// _dd.p.dm=-0 (a decision maker carried without a priority is kept), and a
// reject that overrides a carried keep goes without _dd.p.dm.
// [SamplingPriority], [Origin], [LastParent] and [PropagatedTag] read the
// member of a span context; [State] reads and writes it whole.
//
// # Propagation errors
//
// When propagated tags are dropped, Datadog tracers tag the trace with
// _dd.propagation_error. On injection, ddprop sets that attribute on the
// recording span in ctx; on extraction, where no span exists yet, it leaves
// the value in the returned context for [PropagationError]. Tags from
// x-datadog-tags that the dd= member has no room for are dropped too, and
// reported as extract_max_size.
//
// # Differences from dd-trace-go
//
//   - Headers a style cannot parse make that style yield nothing, and the
//     next style is tried; dd-trace-go stops extracting with an error when
//     the first style that finds its headers cannot parse them (a
//     non-numeric x-datadog-trace-id, a non-hex X-B3-SpanId, ...).
//   - A _dd.p.tid that is not 16 lowercase hex digits rejects the Datadog
//     headers (dd-trace-go keeps the 64-bit trace); the next style is tried.
//   - A B3 trace ID with a non-hex digit in its high half is rejected
//     (dd-trace-go reads that half as zero).
//   - X-B3-Sampled "true" and "false", which older B3 tracers send, are read
//     as 1 and 0, and X-B3-Flags: 1 (debug) without X-B3-Sampled as 1, as
//     the B3 specification asks; dd-trace-go rejects the former and ignores
//     the latter.
//   - Inject always writes the sampling decision (the sampled flag), in B3
//     too; dd-trace-go leaves it out when its context has none.
//   - A Datadog context without a parent ID is rejected, synthetics included:
//     an OpenTelemetry span context needs one.
//   - A later style with another trace ID is ignored; dd-trace-go links it
//     to the span it starts.
//   - A tracestate member that is not valid W3C (a dd= member over 256
//     bytes, a value with "=", an upper-case key), a repeated key and the
//     members past the 32nd are left out, and the rest read (the dd= member
//     among them); dd-trace-go passes faulty members on as they came.
//   - x-datadog-tags of up to 512 bytes are read, but only the tags that
//     fit in the 256-byte dd= member are kept (_dd.p.dm first), and the
//     loss is reported as extract_max_size; dd-trace-go passes them all on
//     in x-datadog-tags.
//   - p:0000000000000000 is read as no last parent.
//   - baggage and "b3 single header" are accepted in OTEL_PROPAGATORS too.
//   - Spaces around the commas of DD_TRACE_PROPAGATION_STYLE* are ignored,
//     and a style name no tracer knows is an error (see [FromEnv]);
//     dd-trace-go warns about both and leaves the style out.
//   - DD_TRACE_PROPAGATION_EXTRACT_FIRST,
//     DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT and
//     DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH are not supported: the tags limit is
//     Datadog's default, 512 bytes. [FromEnv] reports values other than the
//     defaults through [otel.Handle].
package ddprop
