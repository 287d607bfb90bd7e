//go:build race

package vmath

// The race detector slows the Go loops of the sweeps about tenfold.
const raceEnabled = true
