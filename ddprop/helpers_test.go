package ddprop

import (
	"context"
	"encoding/hex"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// otelErrors collects what is reported through otel.Handle.
type otelErrors struct {
	mu   sync.Mutex
	errs []error
}

func (e *otelErrors) messages() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, err := range e.errs {
		out = append(out, err.Error())
	}
	return out
}

// captureOTelErrors sends what otel.Handle reports to the returned
// collector until the test ends.
func captureOTelErrors(t *testing.T) *otelErrors {
	t.Helper()
	c := &otelErrors{}
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		c.mu.Lock()
		c.errs = append(c.errs, err)
		c.mu.Unlock()
	}))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	return c
}

// scView is a span context as tests compare it.
type scView struct {
	TraceID, SpanID string
	Sampled, Remote bool
	TraceState      string
}

func viewOf(sc trace.SpanContext) scView {
	if !sc.IsValid() {
		return scView{}
	}
	return scView{
		TraceID:    sc.TraceID().String(),
		SpanID:     sc.SpanID().String(),
		Sampled:    sc.IsSampled(),
		Remote:     sc.IsRemote(),
		TraceState: sc.TraceState().String(),
	}
}

func viewFrom(ctx context.Context) scView {
	return viewOf(trace.SpanContextFromContext(ctx))
}

// spanContext builds a span context from hex IDs and a tracestate string.
func spanContext(t testing.TB, traceID, spanID string, sampled, remote bool, ts string) trace.SpanContext {
	t.Helper()
	var cfg trace.SpanContextConfig
	if _, err := hex.Decode(cfg.TraceID[:], []byte(traceID)); err != nil {
		t.Fatalf("trace ID %q: %v", traceID, err)
	}
	if _, err := hex.Decode(cfg.SpanID[:], []byte(spanID)); err != nil {
		t.Fatalf("span ID %q: %v", spanID, err)
	}
	if sampled {
		cfg.TraceFlags = trace.FlagsSampled
	}
	state, err := trace.ParseTraceState(ts)
	if err != nil {
		t.Fatalf("tracestate %q: %v", ts, err)
	}
	cfg.TraceState = state
	cfg.Remote = remote
	return trace.NewSpanContext(cfg)
}

// Test IDs. trace128 has the low half of trace64.
const (
	trace64  = "00000000000000000000000000000102"
	trace128 = "640cfd8d000000000000000000000102"
	tid128   = "640cfd8d00000000"
	span1    = "00000000000000ff" // 255
	span2    = "0000000000000100" // 256
)
