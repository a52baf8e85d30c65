//go:build !race

package reliability

// slowdown scales the time bounds of the tests: the race detector makes
// the code several times slower.
const slowdown = 1
