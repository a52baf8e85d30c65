//go:build race

package reliability

// slowdown scales the time bounds of the tests: the race detector makes
// the code several times slower.
const slowdown = 5

// loadTraces is how many traces each goroutine of TestLoad makes: fewer
// under the race detector, to keep the test within seconds.
const loadTraces = 400
