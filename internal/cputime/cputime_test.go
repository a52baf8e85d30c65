package cputime

import (
	"runtime"
	"testing"
)

// TestUsedGrows: CPU time spent shows in Used.
func TestUsedGrows(t *testing.T) {
	before, ok := Used()
	if !ok {
		t.Skip("no CPU time on " + runtime.GOOS)
	}
	x := 0
	for i := range 50_000_000 {
		x ^= i
	}
	after, _ := Used()
	if after <= before {
		t.Errorf("CPU time %v then %v after a busy loop (%d)", before, after, x)
	}
}
