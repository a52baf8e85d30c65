package ddsample

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// PriorityKey is the span attribute of a manual sampling decision, as
// Datadog's tracers and the Agent's OpenTelemetry intake read it: an integer
// sampling priority, 2 to keep the trace (user keep), -1 to drop it (user
// reject).
const PriorityKey = "sampling.priority"

// dd-trace-go's manual keep and drop tags (ext.ManualKeep, ext.ManualDrop):
// as boolean attributes set to true, the sampler takes them as a priority
// of 2 and -1.
const (
	manualKeepKey = "manual.keep"
	manualDropKey = "manual.drop"
)

// Manual sampling priorities.
const (
	// UserKeep keeps a trace whatever the rules and rates say.
	UserKeep = 2
	// UserReject drops a trace whatever the rules and rates say.
	UserReject = -1
)

// KeepAttribute returns the attribute that, given at span start
// (trace.WithAttributes), makes the sampler keep the span's trace from that
// span on, with decision maker -4, as dd-trace-go's ManualKeep does.
func KeepAttribute() attribute.KeyValue { return attribute.Int(PriorityKey, UserKeep) }

// DropAttribute returns the attribute that, given at span start, makes the
// sampler drop the span's trace from that span on, as dd-trace-go's
// ManualDrop does. The trace is still recorded and sent with priority -1.
func DropAttribute() attribute.KeyValue { return attribute.Int(PriorityKey, UserReject) }

// ManualKeep marks the trace of the span in ctx to be kept (priority 2,
// decision maker -4), as dd-trace-go's ManualKeep does, after the span
// started: it sets the sampling.priority attribute on that span, which the
// exporter honours for the span's chunk. The span must still be recording
// (a span of a dropped trace is, under this sampler). The span's context
// cannot change once started: spans started under it and requests it
// already or later propagates carry the decision made at its start. To keep
// a trace together downstream, decide at the start of its local root with
// [KeepAttribute].
func ManualKeep(ctx context.Context) {
	trace.SpanFromContext(ctx).SetAttributes(KeepAttribute())
}

// ManualDrop marks the trace of the span in ctx to be dropped (priority
// -1), as dd-trace-go's ManualDrop does, after the span started; the same
// limits as for [ManualKeep] apply.
func ManualDrop(ctx context.Context) {
	trace.SpanFromContext(ctx).SetAttributes(DropAttribute())
}
