// Package chstoretest holds the embedded engine's test setup. The engine
// allows one data directory per process, so a test binary shares one and
// each test uses its own database.
package chstoretest

import (
	"os"
	"testing"
)

// Run makes the process's data directory, stores its path in dir, runs the
// tests and removes the directory. Use it as TestMain's body:
//
//	func TestMain(m *testing.M) { os.Exit(chstoretest.Run(m, &dataDir)) }
func Run(m *testing.M, dir *string) int {
	d, err := os.MkdirTemp("", "aiops-test-")
	if err != nil {
		panic(err)
	}
	*dir = d
	defer os.RemoveAll(d)
	return m.Run()
}
