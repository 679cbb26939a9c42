// Package chdb loads the embedded ClickHouse engine (chDB's libchdb.so) at run
// time through purego, so the collector builds without cgo and runs without a
// ClickHouse server.
package chdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Pinned engine build. `make libchdb` fetches exactly this package and checks
// these digests; bumping the engine means changing all three together.
const (
	NPMPackage     = "@chdb/lib-linux-x64-gnu"
	PackageVersion = "26.7.3-stable.1"
	// TarballSHA256 is the digest of the npm tarball as served by the registry.
	TarballSHA256 = "c0d32b129e988f2b9a9a31c9141aecf5e1e2453f9a079efc4d36ab8e3f92b2ad"
	// LibrarySHA256 is the digest of package/libchdb.so inside it.
	LibrarySHA256 = "36ad4e999882821ef13cf2d0f52c93f48e6ee1b4498b35a201c23ce4b8d15bf5"
)

// EnvLibrary names the environment variable that overrides the library path.
const EnvLibrary = "AIOPS_LIBCHDB"

const libraryFile = "libchdb.so"

// ErrLibraryNotFound is wrapped by LocateLibrary when no candidate exists.
var ErrLibraryNotFound = errors.New("libchdb.so not found")

// CacheDir is the per-user directory where `make libchdb` installs the pinned
// library: $XDG_CACHE_HOME (or ~/.cache)/otelcol-aiops/libchdb/<version>.
func CacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil || base == "" {
		base = filepath.Join(os.TempDir(), "otelcol-aiops-cache")
	}
	return filepath.Join(base, "otelcol-aiops", "libchdb", PackageVersion)
}

// LocateLibrary returns the library to load: the configured path if set, else
// $AIOPS_LIBCHDB, else the per-user cache. A configured path that does not
// exist is an error rather than a silent fallback, so a typo is noticed.
func LocateLibrary(configured string) (string, error) {
	if configured != "" {
		return checkFile(configured, "configured library path")
	}
	if env := os.Getenv(EnvLibrary); env != "" {
		return checkFile(env, "$"+EnvLibrary)
	}
	cached := filepath.Join(CacheDir(), libraryFile)
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}
	return "", fmt.Errorf("%w: no library path configured, $%s is unset, and %s does not exist. %s",
		ErrLibraryNotFound, EnvLibrary, cached, howToGet())
}

func checkFile(path, source string) (string, error) {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w at %s (from %s): %v. %s", ErrLibraryNotFound, path, source, err, howToGet())
	case st.IsDir():
		return "", fmt.Errorf("%s %s is a directory; it must name the libchdb.so file itself", source, path)
	}
	return path, nil
}

func howToGet() string {
	return strings.Join([]string{
		"Run `make libchdb` in the otelcol-aiops source tree (it downloads",
		NPMPackage + "@" + PackageVersion, "with npm, checks its sha256 and installs it in", CacheDir() + "),",
		"or set $" + EnvLibrary, "to the path of a libchdb.so from that package.",
	}, " ")
}
