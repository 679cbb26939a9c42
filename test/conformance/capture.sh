#!/usr/bin/env bash
# Re-captures one library's telemetry (or all): installs the app's pinned
# packages, runs it against the mock provider and records what it exports.
# Captures are committed; `make test` replays them and never needs npm for it.
#   test/conformance/capture.sh            every app
#   test/conformance/capture.sh otel-openai
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
libs=("$@")
if [ ${#libs[@]} -eq 0 ]; then
  libs=($(ls "$here/apps"))
fi
for lib in "${libs[@]}"; do
  app="$here/apps/$lib"
  out="$here/testdata/$lib"
  echo "== $lib"
  (cd "$app" && npm ci --no-audit --no-fund --loglevel=error)
  entry=$(ls "$app"/app.* | head -1)
  node "$here/harness/harness.mjs" "$out" -- node "$entry"
  node -e '
    const fs = require("fs");
    const [app, out] = process.argv.slice(1);
    const pkg = JSON.parse(fs.readFileSync(app + "/package.json"));
    const lock = JSON.parse(fs.readFileSync(app + "/package-lock.json"));
    const versions = {};
    for (const name of Object.keys(pkg.dependencies || {})) versions[name] = lock.packages["node_modules/" + name]?.version;
    fs.writeFileSync(out + "/meta.json", JSON.stringify({ library: pkg.description || pkg.name, packages: versions, node: process.version }, null, 2) + "\n");
  ' "$app" "$out"
done
