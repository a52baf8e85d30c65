// Quickstart shows ddslog end to end in one command:
//
//	go run ./examples/quickstart
//
// It logs JSON to stdout through the correlating slog handler and traces
// three simulated HTTP requests with the OpenTelemetry API: each a server
// span with a PostgreSQL query below it, then an outgoing HTTP call,
// template rendering, or both. The third request fails: its error log marks
// the server span as failed and records an exception event on it. Every
// log line at Info and above is also an event of the span in its context.
//
// Spans go to the Datadog Agent named by DD_TRACE_AGENT_URL, DD_AGENT_HOST
// or DD_TRACE_AGENT_PORT, else to one answering on localhost:8126, else to
// an embedded test agent (package ddexport/ddtest), which the program
// announces in one line on stderr. With the embedded agent, the program
// then prints what the agent received, trace by trace, with each trace ID
// in the form the logs carry in dd.trace_id, so each log line can be
// matched with its trace.
package main
