//go:build race

package ddslog

const raceEnabled = true
