//go:build !unix

package main

// statusLocked cannot tell without flock; the engine's own error applies.
func statusLocked(string) (bool, error) { return false, nil }
