package ddotel

import (
	"context"
	"encoding/binary"
	"math/rand/v2"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ids64 generates 64-bit trace IDs (the high 64 bits zero) and random span
// IDs, as Datadog's tracers do with
// DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED=false. math/rand/v2's
// top-level generator is safe for concurrent use and seeded at random.
type ids64 struct{}

var _ sdktrace.IDGenerator = ids64{}

func (ids64) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	binary.BigEndian.PutUint64(tid[8:], nonZero())
	return tid, newSpanID()
}

func (ids64) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return newSpanID() }

func newSpanID() trace.SpanID {
	var sid trace.SpanID
	binary.BigEndian.PutUint64(sid[:], nonZero())
	return sid
}

func nonZero() uint64 {
	for {
		if n := rand.Uint64(); n != 0 {
			return n
		}
	}
}
