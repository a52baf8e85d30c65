// Httpserver shows a net/http service traced with the OpenTelemetry API and
// correlated slog logs, sending its spans to the Datadog Agent:
//
//	go run ./examples/httpserver -addr localhost:8080
//	curl http://localhost:8080/orders/42
//	curl -H 'x-datadog-trace-id: 1234' -H 'x-datadog-parent-id: 5678' \
//		-H 'x-datadog-sampling-priority: 1' http://localhost:8080/orders/42
//
// ddotel.Start installs the tracer provider, the correlating slog handler and
// a global propagator that reads and writes both Datadog's x-datadog-* headers
// and W3C traceparent. Each request runs under a server span that continues
// the caller's trace from those headers; GET /orders/{id} calls GET
// /inventory/{id} (on this same server unless -inventory names another) under
// a client span whose context travels in the request's headers, so the
// inventory request is a child in the same trace. Log lines carry dd.trace_id
// and dd.span_id, and become events of their spans; an order whose inventory
// call fails (ids from 1000 on) marks its spans as failed.
//
// On SIGINT or SIGTERM the server stops accepting connections, finishes the
// requests in flight, then flushes their spans before exiting. The Agent is
// the one DD_TRACE_AGENT_URL, or DD_AGENT_HOST and DD_TRACE_AGENT_PORT, name,
// else the one on /var/run/datadog/apm.socket when that exists, else
// localhost:8126 (see package ddexport). Without one, the exporter retries
// within the shutdown's 10-second limit, then drops the spans and reports
// them in a log line (through otel.Handle); the program exits with an error
// only when the limit cut the flush short. The logs still show the
// correlation.
package main
