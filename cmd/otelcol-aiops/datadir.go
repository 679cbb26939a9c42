package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// engineSubdir is where the shipped configs keep the embedded engine inside
// $AIOPS_DATA_DIR (embedded.path: ${env:AIOPS_DATA_DIR}/clickhouse).
const engineSubdir = "clickhouse"

// liveEndpoint is the ClickHouse HTTP interface of a collector running the
// shipped embedded config.
const liveEndpoint = "http://127.0.0.1:8123"

// engineDir resolves --data-dir to the engine's directory: dir itself when
// it is one, or dir/clickhouse when dir is the collector's data root. It
// never creates anything: the engine would start empty in a mistyped
// directory (and leave its tmp/ there). initEmpty lets migrate start a new
// engine in an existing, empty directory.
func engineDir(dir string, initEmpty bool) (string, error) {
	if dir == "" {
		return "", errors.New("--data-dir or --endpoint is required; with --data-dir the collector must not be running on it")
	}
	if fi, err := os.Stat(dir); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("data directory %s does not exist; --data-dir (or $AIOPS_DATA_DIR) is the collector's data directory, e.g. ./data, or the engine directory inside it, ./data/%s", dir, engineSubdir)
		}
		return "", fmt.Errorf("data directory: %w", err)
	} else if !fi.IsDir() {
		return "", fmt.Errorf("data directory %s is not a directory", dir)
	}
	for _, d := range []string{dir, filepath.Join(dir, engineSubdir)} {
		if isEngineDir(d) {
			return d, checkNotHeld(d)
		}
	}
	if initEmpty && isEmptyDir(dir) {
		return dir, nil
	}
	return "", fmt.Errorf("%s holds no embedded engine: neither it nor %s has ClickHouse's metadata/; --data-dir (or $AIOPS_DATA_DIR) is the collector's data directory, e.g. ./data, or the engine directory inside it",
		dir, filepath.Join(dir, engineSubdir))
}

// isEngineDir: the engine keeps metadata/ at rest and its status file while
// it runs.
func isEngineDir(d string) bool {
	if fi, err := os.Stat(filepath.Join(d, "metadata")); err == nil && fi.IsDir() {
		return true
	}
	_, err := os.Stat(filepath.Join(d, "status"))
	return err == nil
}

func isEmptyDir(d string) bool {
	f, err := os.Open(d)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return errors.Is(err, io.EOF)
}

// checkNotHeld fails when a running engine (the collector's, most likely)
// holds d: ClickHouse keeps an exclusive lock on d/status while it runs,
// and a second engine on d would fail with a less helpful error.
func checkNotHeld(d string) error {
	held, err := statusLocked(filepath.Join(d, "status"))
	if err != nil || !held {
		return err
	}
	return fmt.Errorf("the engine directory %s is in use by a running collector; query it through the collector's ClickHouse HTTP interface instead: --endpoint %s", d, liveEndpoint)
}
