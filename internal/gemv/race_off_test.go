//go:build !race

package gemv

const raceEnabled = false
