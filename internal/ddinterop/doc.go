// Package ddinterop holds interoperability tests between ddslog's ddprop
// propagator and dd-trace-go's own propagator.
package ddinterop
