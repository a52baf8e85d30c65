// Package agentdiff checks ddtest's decoders against the Datadog Agent's
// own: the same payloads go to both (traces to the receiver's v0.4/v0.5
// decoders, client stats to the msgp-generated ClientStatsPayload decoder of
// /v0.6/stats), and they must agree on what they accept and what they read,
// except where ddtest documents that it is stricter.
package agentdiff
