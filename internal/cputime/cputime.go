// Package cputime reads the CPU time the process has used, for benchmarks
// that report CPU time per operation: on a shared machine, wall time says
// as much about the neighbours as about the code.
package cputime

import "time"

// Used returns the user and system CPU time of the process so far, all
// threads and garbage collection included, and whether the platform can
// tell.
func Used() (time.Duration, bool) { return used() }
