//go:build !race

package stats

// raceEnabled reports whether the race detector is on: allocation counts
// are not meaningful under it.
const raceEnabled = false
