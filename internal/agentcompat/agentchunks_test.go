package agentcompat

import (
	"strconv"
	"testing"
	"time"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace/idx"
)

// seenSpan is a span as the Agent holds it after its processing, read the
// same way from either receiver path.
type seenSpan struct {
	id, parent uint64
	name       string
	meta       func(k string) (string, bool)
	metric     func(k string) (float64, bool)
}

// seenChunk is a chunk as the Agent holds it: the fields the Agent fills
// from its spans (priority, decision maker), whether its sampling dropped
// it, and its spans in order.
type seenChunk struct {
	priority int32
	// dm is the decision maker the Agent recorded for the chunk: the
	// classic path's chunk tag _dd.p.dm; the default path's sampling
	// mechanism, written "-<mechanism>" ("" when it has none, which it
	// cannot tell from -0).
	dm      string
	dropped bool
	spans   []seenSpan
}

func (s seenSpan) metricIs(k string, v float64) bool {
	got, ok := s.metric(k)
	return ok && got == v
}

func seenPB(s *pb.Span) seenSpan {
	return seenSpan{
		id: s.SpanID, parent: s.ParentID, name: s.Name,
		meta:   func(k string) (string, bool) { v, ok := s.Meta[k]; return v, ok },
		metric: func(k string) (float64, bool) { v, ok := s.Metrics[k]; return v, ok },
	}
}

func seenIdx(s *idx.InternalSpan) seenSpan {
	// GetAttribute answers ok for any key of the payload's string table;
	// a nil value means the span lacks it.
	has := func(k string) bool { v, ok := s.GetAttribute(k); return ok && v != nil }
	return seenSpan{
		id: s.SpanID(), parent: s.ParentID(), name: s.Name(),
		meta: func(k string) (string, bool) {
			if !has(k) {
				return "", false
			}
			return s.GetAttributeAsString(k)
		},
		metric: func(k string) (float64, bool) {
			if !has(k) {
				return 0, false
			}
			return s.GetAttributeAsFloat64(k)
		},
	}
}

func chunkPB(ch *pb.TraceChunk) seenChunk {
	c := seenChunk{priority: ch.Priority, dm: ch.Tags["_dd.p.dm"], dropped: ch.DroppedTrace}
	for _, s := range ch.Spans {
		c.spans = append(c.spans, seenPB(s))
	}
	return c
}

func chunkIdx(ch *idx.InternalTraceChunk) seenChunk {
	c := seenChunk{priority: ch.Priority, dropped: ch.DroppedTrace}
	if m := ch.SamplingMechanism(); m != 0 {
		c.dm = "-" + strconv.FormatUint(uint64(m), 10)
	}
	for _, s := range ch.Spans {
		c.spans = append(c.spans, seenIdx(s))
	}
	return c
}

// statsInputChunks returns every chunk the Agent gave its concentrator:
// all the chunks it received without client stats, kept by its sampler or
// not, as its processing left them (top-level marks included).
func (c *captureConcentrator) statsInputChunks() []seenChunk {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inputChunksLocked()
}

func (c *captureConcentrator) inputChunksLocked() []seenChunk {
	var out []seenChunk
	for _, in := range c.inputs {
		for _, pt := range in.Traces {
			out = append(out, chunkPB(pt.TraceChunk))
		}
	}
	for _, in := range c.inputsV1 {
		for _, pt := range in.Traces {
			out = append(out, chunkIdx(pt.TraceChunk))
		}
	}
	return out
}

// waitInputSpans blocks until the concentrator was given chunks holding
// at least n spans, or fails the test after waitTimeout.
func (c *captureConcentrator) waitInputSpans(t *testing.T, n int) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		got := 0
		c.mu.Lock()
		for _, ch := range c.inputChunksLocked() {
			got += len(ch.spans)
		}
		changed := c.changed
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("the Agent computed the stats of %d spans, want %d", got, n)
		}
	}
}

// keptChunks returns the chunks the Agent's sampling kept: what it would
// send to Datadog.
func (w *captureWriter) keptChunks() []seenChunk {
	var out []seenChunk
	for _, tp := range w.tracerPayloads() {
		for _, ch := range tp.Chunks {
			out = append(out, chunkPB(ch))
		}
	}
	for _, p := range w.sampledV1() {
		for _, ch := range p.TracerPayload.Chunks {
			out = append(out, chunkIdx(ch))
		}
	}
	return out
}

// receiverCounts is what the Agent's receiver counted of the trace
// payloads of endpoint version v: chunks received, and chunks by sampling
// priority (as its sampler saw them, kept or not).
func (ra *realAgent) receiverCounts(v string) (chunks int64, byPriority map[string]int64) {
	rs := ra.agent.Receiver.Stats
	rs.RLock()
	defer rs.RUnlock()
	byPriority = map[string]int64{}
	for tags, ts := range rs.Stats {
		if tags.EndpointVersion != v {
			continue
		}
		chunks += ts.TracesReceived.Load()
		for p, n := range ts.TracesPerSamplingPriority.TagValues() {
			byPriority[p] += n
		}
		if n := ts.TracesPriorityNone.Load(); n > 0 {
			byPriority["none"] += n
		}
	}
	return chunks, byPriority
}
