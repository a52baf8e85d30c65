//go:build !race

package ddexport

// raceEnabled reports whether the race detector is on: allocation counts
// are not meaningful under it.
const raceEnabled = false
