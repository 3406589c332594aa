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
# Whole: the script with the source map it names. The production static storage (collectstatic with hashed
# names) rewrites every sourceMappingURL and fails on one whose file is missing.
cp "$work/package/dist/tus.min.js" "$target/tus.min.js"
cp "$work/package/dist/tus.min.js.map" "$target/tus.min.js.map"
cp "$work/package/LICENSE" "$target/LICENSE"
for script in "$target"/*.js; do
    map=$(sed -n 's|^//# sourceMappingURL=\(.*\)$|\1|p' "$script")
    if [ -n "$map" ] && [ ! -f "$target/$map" ]; then
        echo "$script names the source map $map, which the package does not have" >&2
        exit 1
    fi
done
cat > "$target/VERSION" <<NOTE
tus-js-client $version (https://github.com/tus/tus-js-client), MIT licence (see LICENSE)
from the npm package's dist/tus.min.js and dist/tus.min.js.map, unchanged; refresh with scripts/vendor-js.sh VERSION
sha256 $(sha256sum "$target/tus.min.js" | cut -d' ' -f1)  tus.min.js
sha256 $(sha256sum "$target/tus.min.js.map" | cut -d' ' -f1)  tus.min.js.map
NOTE
echo "tus-js-client $version vendored into $target"
