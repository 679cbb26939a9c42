#!/usr/bin/env bash
# Installs the pinned embedded ClickHouse engine (chDB's libchdb.so) from npm
# into the per-user cache that internal/chdb searches. The version and both
# digests are read from internal/chdb/library.go, the one place they live.
set -euo pipefail
cd "$(dirname "$0")/.."

const() { sed -n "s/^[[:space:]]*$1[[:space:]]*= \"\(.*\)\"/\1/p" internal/chdb/library.go; }
PKG=$(const NPMPackage)
VERSION=$(const PackageVersion)
TGZ_SHA=$(const TarballSHA256)
LIB_SHA=$(const LibrarySHA256)
[ -n "$PKG" ] && [ -n "$VERSION" ] && [ -n "$TGZ_SHA" ] && [ -n "$LIB_SHA" ] || { echo "fetch-libchdb: cannot read the pins from internal/chdb/library.go" >&2; exit 1; }

DEST="${XDG_CACHE_HOME:-$HOME/.cache}/otelcol-aiops/libchdb/$VERSION"
LIB="$DEST/libchdb.so"
if [ -f "$LIB" ] && [ -f "$LIB.sha256-ok" ]; then
  echo "libchdb $VERSION already installed: $LIB"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-libchdb: npm is required (apt-get install -y npm)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "fetching $PKG@$VERSION with npm (about 180 MB)..."
(cd "$TMP" && npm pack --silent "$PKG@$VERSION" >/dev/null)
TGZ=$(ls "$TMP"/*.tgz)
got=$(sha256sum "$TGZ" | cut -d' ' -f1)
[ "$got" = "$TGZ_SHA" ] || { echo "fetch-libchdb: tarball sha256 $got, want $TGZ_SHA; refusing to install" >&2; exit 1; }
tar -xzf "$TGZ" -C "$TMP" package/libchdb.so
got=$(sha256sum "$TMP/package/libchdb.so" | cut -d' ' -f1)
[ "$got" = "$LIB_SHA" ] || { echo "fetch-libchdb: libchdb.so sha256 $got, want $LIB_SHA; refusing to install" >&2; exit 1; }
mkdir -p "$DEST"
mv "$TMP/package/libchdb.so" "$LIB.partial"
mv "$LIB.partial" "$LIB"
echo "$LIB_SHA" > "$LIB.sha256-ok"
echo "installed libchdb $VERSION: $LIB"
