// Package agentdiff checks ddtest's decoder against the Datadog Agent's
// own: the same payloads go to both, and they must agree on what they
// accept, except where ddtest documents that it is stricter.
package agentdiff
