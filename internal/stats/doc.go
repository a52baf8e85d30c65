// Package stats is the client-side APM stats concentrator: it turns ended
// spans into the ClientStatsPayload that a Datadog tracer sends to the
// Agent's /v0.6/stats endpoint, computing exactly what the Agent 7.85 would
// have computed from the same spans (pkg/trace/stats of the Agent, which
// dd-trace-go v2 also uses).
//
// # Use
//
// One [Concentrator] per exporter. For every ended span of every chunk
// (priority 0 included, before any drop), the exporter fills a [Span] from
// what it maps anyway and calls [Concentrator.Add]; every [BucketInterval]
// it calls [Concentrator.Flush] with force false, and on Shutdown or
// ForceFlush with force true, and sends each returned [Payload], encoded by
// [Payload.AppendMsgpack], to /v0.6/stats.
//
// # What is counted
//
// A span is counted when it is top-level, measured, or of kind server,
// client, producer or consumer (any case), and is not a partial snapshot of
// a long-running span. It goes to the 10-second bucket of its end time. Per
// bucket, spans are grouped by the Agent's aggregation key (service, name,
// resource, type, span kind, HTTP status code, synthetics, peer tags,
// service source, is-trace-root, gRPC status code, HTTP method and
// endpoint) and by the chunk's env and version (the payload key). A group
// holds hits, top-level hits, errors and the duration sum, each weighted by
// the chunk root's 1/_sample_rate as float64 and rounded stochastically when
// exported, and two DDSketches (relative accuracy 0.01, 2048 bins, lowest
// bins collapsed) of the unweighted durations in nanoseconds, masked to the
// Agent's 10-bit mantissa: one of the spans without error, one of the spans
// with error.
//
// The Agent normalises spans before it computes their stats; Add applies
// the normalisations that change buckets (a negative or overflowing
// duration becomes 0, a start before 2000 becomes now minus the duration)
// and keys (a type is cut to 100 bytes, a peer tag value to 25,000 bytes
// followed by "...").
// Names, services and resources are sent as given: the Agent normalises
// and obfuscates client stats itself, and merges groups that become equal.
// It does not normalise peer tags, so Add does what its normaliser does to
// spans: peer.service and _dd.base_service values are normalised as
// services.
//
// # Retention and flush
//
// As in dd-trace-go: a span ending before the oldest open bucket is counted
// in that bucket, a span ending in the future is counted in the current
// bucket, and Flush without force keeps the two newest buckets (a bucket
// leaves 20 to 30 seconds after it starts). After a flush, the oldest open
// bucket is the previous one.
//
// At most [Config].MaxGroups groups are kept per bucket (default
// [DefaultMaxGroups], dd-trace-go's whole-key limit): the spans of further
// keys are counted in one group (per env and version) whose fields read
// "tracer_blocked_value", as dd-trace-go does, so that memory stays bounded
// without losing a hit.
//
// # Concurrency
//
// Add and Flush may be called from any number of goroutines. Everything a
// span needs is derived, and its key encoded and hashed, before any lock is
// taken. The groups live in 16 shards chosen by that hash, each under its
// own mutex, under which Add only finds the bucket and the group and
// updates them: concurrent Adds of different keys seldom wait for each
// other. Only the creation of a group takes a mutex shared by all shards
// (the group count of the bucket, for MaxGroups).
package stats
