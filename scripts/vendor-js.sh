#!/usr/bin/env bash
# Refreshes the browser libraries vendored under static/vendor/ from their npm packages (no build step, nothing
# is fetched at run time). Usage: scripts/vendor-js.sh [tus-js-client version]; needs npm and network to npm.
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:-4.3.1}
target=static/vendor/tus-js-client
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "tus-js-client@$version" >/dev/null && tar xzf tus-js-client-*.tgz)
mkdir -p "$target"
cp "$work/package/dist/tus.min.js" "$target/tus.min.js"
# tus.min.js names its source map; without it the production collectstatic (the image build) fails.
cp "$work/package/dist/tus.min.js.map" "$target/tus.min.js.map"
cp "$work/package/LICENSE" "$target/LICENSE"
cat > "$target/VERSION" <<NOTE
tus-js-client $version (https://github.com/tus/tus-js-client), MIT licence (see LICENSE)
from the npm package's dist/tus.min.js and its source map, unchanged; refresh with scripts/vendor-js.sh VERSION
sha256 $(sha256sum "$target/tus.min.js" | cut -d' ' -f1)
NOTE
echo "tus-js-client $version vendored into $target"
