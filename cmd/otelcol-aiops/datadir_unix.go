//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// statusLocked reports whether another open file holds ClickHouse's
// flock(LOCK_EX) on the status file.
func statusLocked(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("data directory: %w", err)
	}
	defer f.Close()
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); {
	case err == nil:
		return false, syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	default:
		return false, fmt.Errorf("data directory: locking %s: %w", path, err)
	}
}
