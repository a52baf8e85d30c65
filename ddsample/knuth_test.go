package ddsample

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSampledByRate(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	rates := []float64{0, 1e-9, 0.001, 0.1, 0.25, 1.0 / 3, 0.5, 0.75, 0.999, 1 - 1e-16, 1}
	for range 20000 {
		n := rnd.Uint64()
		kept := false
		for _, r := range rates {
			got := sampledByRate(n, r)
			if want := knuthKeeps(n, r); got != want {
				t.Fatalf("ID %d at rate %g: kept %t, the formula says %t", n, r, got, want)
			}
			// A higher rate keeps every ID a lower one keeps.
			if kept && !got {
				t.Fatalf("ID %d kept at a lower rate than %g but not at it", n, r)
			}
			kept = got
		}
	}
	for _, n := range []uint64{0, 1, math.MaxUint64} {
		if !sampledByRate(n, 1) || sampledByRate(n, 0) {
			t.Errorf("ID %d: rate 1 must keep and rate 0 drop", n)
		}
	}
	// ID 0 hashes to 0: kept at any positive rate.
	if !sampledByRate(0, 1e-300) {
		t.Error("ID 0 dropped at a positive rate")
	}
}

func TestFormatRate(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want string
	}{
		{1, "1"},
		{0, "0"},
		{0.5, "0.5"},
		{0.25, "0.25"},
		{0.1, "0.1"},
		{1.0 / 3, "0.333333"},
		{0.1234567, "0.123457"},
		{0.000002, "0.000002"},
		{1e-7, "0"}, // six decimals at most
		{0.9999999, "1"},
		{0.0625, "0.0625"},
	} {
		if got := formatRate(tc.rate); got != tc.want {
			t.Errorf("formatRate(%v) = %q, want %q", tc.rate, got, tc.want)
		}
	}
}
