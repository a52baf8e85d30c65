package ddexport

import (
	"fmt"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestMinimalEncode(t *testing.T) {
	start := time.Unix(1700000000, 0)
	tid := trace.TraceID{0: 1, 15: 2}
	mk := func(tid trace.TraceID, sid byte) sdktrace.ReadOnlySpan {
		return tracetest.SpanStub{
			Name:        "op",
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{7: sid}}),
			StartTime:   start,
			EndTime:     start.Add(time.Second),
			Attributes:  []attribute.KeyValue{attribute.String("a", "b"), attribute.Int("n", 3)},
		}.Snapshot()
	}
	spans := []sdktrace.ReadOnlySpan{mk(tid, 1), mk(trace.TraceID{15: 9}, 2), mk(tid, 3)}
	e := newEncoder(V04, &mapConfig{service: "svc"})
	ch := e.chunks(spans)
	if len(ch) != 2 || len(ch[0]) != 2 || len(ch[1]) != 1 {
		t.Fatalf("chunks = %v", ch)
	}
	var got [][]map[string]any
	if err := msgpack.Unmarshal(e.encode(ch, false), &got); err != nil {
		t.Fatal(err)
	}
	if got[0][0]["service"] != "svc" || fmt.Sprint(got[0][1]["trace_id"]) != "2" {
		t.Fatalf("got %v", got)
	}
	e.release()
}
