package ddinterop_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The mock tracer's background work must stop with it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
