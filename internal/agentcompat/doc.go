// Package agentcompat is the compatibility suite of ddexport against the
// real Datadog Agent: its tests build the Agent 7.85 trace-agent from its own
// code (github.com/DataDog/datadog-agent/pkg/trace), serve its receiver on
// loopback, run its processing on what ddexport sends, and compare the result
// with what the Agent makes of the same spans received over OTLP. The
// Agent's stats concentrator and client stats aggregator run too, captured:
// client-side stats computed by internal/stats are compared with the stats
// the Agent computes itself.
//
// The package has no non-test code; it is a separate module so that the
// library does not depend on the Agent. docs/COMPATIBILITY.md describes the
// setup, the corpus, the deliberate differences and the findings.
//
//	go test -race -count=1 ./...
package agentcompat
