// Package ddinterop holds interoperability tests between ddslog and
// dd-trace-go: ddprop against dd-trace-go's own propagator, and ddsample's
// sampling decisions against dd-trace-go's own tracer under the same DD_*
// configuration.
package ddinterop
