// Package ddtest is a fake Datadog Agent for tests and demos. It serves
// /v0.4/traces, /v0.5/traces and /info on loopback or on a unix socket,
// decodes what it receives as strictly as the real Agent, and hands the
// decoded spans back as plain Go structs.
package ddtest
