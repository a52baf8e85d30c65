// Package bench compares ddexport with a peer encoder, in a module of its
// own so that the library does not depend on the peer.
//
// BenchmarkPeer times, on the same realistic spans, ddexport's whole export
// (grouping, mapping to Datadog spans and v0.4 encoding, HTTP request
// included, against an in-memory transport) and the msgpack encoder that
// msgp generates for the Agent's span model (pb.Traces.MarshalMsg) — the
// generator dd-trace-go's encoder comes from — encoding the very spans
// ddexport produced, already in Go structs:
//
//	go test -run '^$' -bench BenchmarkPeer -count 10 . > peer.txt
//	benchstat -col /impl peer.txt
package bench
