package ddtest

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// API SKELETON — bodies to be written. The exported names and signatures
// below are relied on by ddexport's tests and by the examples; extend, but do
// not change them.

// Span is one span as the Agent decoded it, in plain Go types. Empty maps
// and slices are nil.
type Span struct {
	Service    string
	Name       string
	Resource   string
	Type       string
	TraceID    uint64
	SpanID     uint64
	ParentID   uint64
	Start      int64
	Duration   int64
	Error      int32
	Meta       map[string]string
	Metrics    map[string]float64
	MetaStruct map[string][]byte
	SpanLinks  []SpanLink
	SpanEvents []SpanEvent
}

// SpanLink is a native v0.4 span link.
type SpanLink struct {
	TraceID     uint64
	TraceIDHigh uint64
	SpanID      uint64
	Attributes  map[string]string
	Tracestate  string
	Flags       uint32
}

// SpanEvent is a native v0.4 span event.
type SpanEvent struct {
	TimeUnixNano uint64
	Name         string
	Attributes   map[string]AttributeValue
}

// AttributeValue is a typed span event attribute value.
type AttributeValue struct {
	Type        AttributeType
	StringValue string
	BoolValue   bool
	IntValue    int64
	DoubleValue float64
	ArrayValue  []AttributeValue
}

// AttributeType is the wire type tag of an AttributeValue.
type AttributeType int32

// Attribute types, as numbered on the wire.
const (
	StringType AttributeType = 0
	BoolType   AttributeType = 1
	IntType    AttributeType = 2
	DoubleType AttributeType = 3
	ArrayType  AttributeType = 4
)

// Payload is one accepted request to a traces endpoint.
type Payload struct {
	Path   string      // "/v0.4/traces" or "/v0.5/traces"
	Header http.Header // the request headers
	Chunks [][]Span    // decoded chunks, in wire order
}

// Rejection is one request the agent refused.
type Rejection struct {
	Path   string
	Status int    // 400, 413, 415...
	Reason string // why, in words
}

// Option configures an Agent.
type Option interface{ apply(*config) }

type config struct{}

// WithUnixSocket makes the agent listen on a unix socket at path instead of
// loopback TCP; URL then returns "unix://" + path.
func WithUnixSocket(path string) Option { panic("TODO") }

// WithSpanEvents sets whether /info advertises native span events ("span_events": true).
// Default true.
func WithSpanEvents(on bool) Option { panic("TODO") }

// WithBodyLimit sets the request body limit above which the agent answers
// 413. Default 25 MiB, like the real Agent.
func WithBodyLimit(n int64) Option { panic("TODO") }

// WithRates sets the rate_by_service map returned on every 200 response.
func WithRates(rates map[string]float64) Option { panic("TODO") }

// Agent is a fake Datadog Agent serving /v0.4/traces, /v0.5/traces and /info.
// It is safe for concurrent use.
type Agent struct{ cfg config }

// Start starts an agent on loopback (or the configured unix socket).
func Start(opts ...Option) (*Agent, error) { panic("TODO") }

// New starts an agent for a test and closes it in tb.Cleanup; it fails the
// test if the agent cannot start.
func New(tb testing.TB, opts ...Option) *Agent { panic("TODO") }

// URL is the agent's address, usable as ddexport.WithAgentURL or
// DD_TRACE_AGENT_URL: "http://127.0.0.1:port" or "unix:///path".
func (a *Agent) URL() string { panic("TODO") }

// Close stops the agent and waits for its goroutines.
func (a *Agent) Close() error { panic("TODO") }

// Payloads returns a copy of every accepted payload so far.
func (a *Agent) Payloads() []Payload { panic("TODO") }

// Spans returns every accepted span so far, in arrival order.
func (a *Agent) Spans() []Span { panic("TODO") }

// WaitSpans waits until at least n spans were accepted and returns them all,
// or returns ctx's error.
func (a *Agent) WaitSpans(ctx context.Context, n int) ([]Span, error) { panic("TODO") }

// Rejections returns every refused request so far.
func (a *Agent) Rejections() []Rejection { panic("TODO") }

// Requests returns how many requests reached the traces endpoints (accepted,
// rejected or failed by injection).
func (a *Agent) Requests() int { panic("TODO") }

// Reset forgets payloads, rejections and counters, and cancels pending faults.
func (a *Agent) Reset() { panic("TODO") }

// SetSpanEvents changes what /info advertises.
func (a *Agent) SetSpanEvents(on bool) { panic("TODO") }

// SetRates changes the rate_by_service answer.
func (a *Agent) SetRates(rates map[string]float64) { panic("TODO") }

// FailNext makes the next n trace requests fail with status (the body is
// read and discarded first); retryAfter, when positive, is sent as the
// Retry-After header in whole seconds.
func (a *Agent) FailNext(n int, status int, retryAfter time.Duration) { panic("TODO") }

// DropNext makes the agent close the connection of the next n trace requests
// without answering.
func (a *Agent) DropNext(n int) { panic("TODO") }

// SetDelay makes every trace request wait d (or until the request's context
// ends) before being answered. Zero removes the delay.
func (a *Agent) SetDelay(d time.Duration) { panic("TODO") }
