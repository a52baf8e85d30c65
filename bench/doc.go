// Package bench compares ddslog with its peers, in a module of its own so
// that the library does not depend on them. Every comparison names its
// cases .../impl=<implementation> (BenchmarkPipelineWorkers, which
// compares worker counts, .../workers=<n>), so that benchstat puts the
// implementations side by side:
//
//	go test -run '^$' -bench <Benchmark> -count 10 . > out.txt
//	benchstat -col /impl out.txt
//
// # Handlers
//
// BenchmarkHandler logs the same calls — logger.InfoContext(ctx, "msg",
// "k", 1, "k2", "v") and a typical seven-attribute request line, with and
// without a group open — through dd-trace-go's contrib/log/slog handler
// (impl=ddtrace), ddslog's handler with its defaults (impl=ddslog: the IDs,
// and the line as an event on the recording span) and with span events off
// (impl=ddslog-noevents: the same output as dd-trace-go's), all over
// slog.NewJSONHandler(io.Discard, nil), and through the otelslog bridge over
// the OpenTelemetry log SDK's batch processor and an exporter that discards
// (impl=otelslog). Each has a span of its own tracer in the context.
//
// # End to end
//
// BenchmarkEndToEnd runs the same 10-span traces (an HTTP server span with
// internal, database, cache and HTTP client children, a few attributes each,
// one log line per span through the tracer's slog integration) through
// dd-trace-go's tracer and through the pipeline ddotel.Start builds, both
// sending to an in-memory Agent (an http.RoundTripper: no sockets). An op is
// a trace, its export included; it also reports the process's CPU time per
// trace (cpu-ns/op), the payload bytes (wire-B/op) and the share of traces
// the pipeline shed (lost-%). dd-trace-go runs without what would reach the
// network or print (telemetry, remote configuration, runtime or health
// metrics, AppSec, startup logs) and otherwise with its defaults, the pprof
// labels it sets on every span for its profiler included (impl=ddtrace);
// impl=ddtrace-nolabels turns those labels off (see ddTraceEnv in
// main_test.go).
//
// # Export capacity
//
// BenchmarkExport measures what one export goroutine sustains: ddexport's
// exporter converting, encoding and sending to the in-memory Agent the
// spans of 100 of those traces, as ddotel.Start's pipeline makes them, per
// call. It reports the CPU time per span and the spans per second of CPU
// time.
//
// BenchmarkPipelineWorkers runs ddotel.Start's pipeline with 1, 2 and 4
// export workers on runs of many traces (the span processor holds 50,000
// spans: shorter runs cannot shed), with the log lines and without, and
// reports whether every trace was delivered and how fast the loop made
// spans.
//
// # Encoder
//
// BenchmarkPeer times, on the same realistic spans, ddexport's whole export
// (grouping, mapping to Datadog spans and v0.4 encoding, HTTP request
// included, against an in-memory transport) and the msgpack encoder that
// msgp generates for the Agent's span model (pb.Traces.MarshalMsg) — the
// generator dd-trace-go's encoder comes from — encoding the very spans
// ddexport produced, already in Go structs.
//
// # Tests
//
// go test (without -bench) runs only quick checks that each compared
// pipeline does what the benchmarks claim: every handler writes the
// expected keys and IDs (TestHandlerKeys), and every trace reaches the
// in-memory Agent whole from every tracer, with each log line correlated to
// its span (TestEndToEndDelivers).
package bench
