// Package agentcompat holds the compatibility suite that runs ddexport
// against the real Datadog Agent trace receiver.
package agentcompat
