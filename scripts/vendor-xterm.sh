#!/usr/bin/env bash
# Vendors xterm.js for the web viewer (ui/) from the npm registry.
#
#   scripts/vendor-xterm.sh
#
# Downloads the pinned tarballs of @xterm/xterm and @xterm/addon-fit, checks
# each against the sha512 `integrity` pinned below (the value `npm view
# <pkg>@<version> dist.integrity` prints), and copies only what the page
# loads, plus the license files, into ui/vendor/:
#
#   ui/vendor/xterm/xterm.js, xterm.css, LICENSE
#   ui/vendor/addon-fit/addon-fit.js, LICENSE
#
# The files are committed and embedded in the binary (src/ui.rs): building
# termbridge never needs the network; only this script does. To update, change
# a version and its integrity below, run the script, check the page
# (cargo test --test viewer_ui --test viewer_browser), and commit ui/vendor/.
set -euo pipefail

XTERM_VERSION=5.5.0
XTERM_INTEGRITY="sha512-hqJHYaQb5OptNunnyAnkHyM8aCjZ1MEIDTQu1iIbbTD/xops91NB5yq1ZK/dC2JDbVWtF23zUtl9JE2NqwT87A=="
FIT_VERSION=0.10.0
FIT_INTEGRITY="sha512-UFYkDm4HUahf2lnEyHvio51TNGiLK66mqP2JoATy7hRZeXaGMRDr00JiSF7m63vR5WKATF605yEggJKsw0JpMQ=="
REGISTRY="${NPM_REGISTRY:-https://registry.npmjs.org}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/ui/vendor"

log() { printf 'vendor-xterm: %s\n' "$*" >&2; }
die() { printf 'vendor-xterm: ERROR: %s\n' "$*" >&2; exit 1; }

for tool in curl tar openssl base64; do
    command -v "$tool" >/dev/null 2>&1 || die "needs $tool"
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# fetch SCOPED_NAME VERSION INTEGRITY -> extracts to $WORK/<basename>/package
fetch() {
    local name="$1" version="$2" integrity="$3"
    local base="${name#*/}"
    local url="$REGISTRY/$name/-/$base-$version.tgz"
    local tgz="$WORK/$base-$version.tgz"
    log "downloading $url"
    curl -fsSL --retry 3 -o "$tgz" "$url" || die "download failed: $url"
    local actual
    actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
    [[ "$actual" == "$integrity" ]] ||
        die "$name@$version: integrity mismatch (pinned $integrity, got $actual)"
    mkdir -p "$WORK/$base"
    tar -xzf "$tgz" -C "$WORK/$base"
    local packaged
    packaged="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$WORK/$base/package/package.json")"
    [[ "$packaged" == "$version" ]] || die "$name: package.json says $packaged, wanted $version"
}

fetch @xterm/xterm "$XTERM_VERSION" "$XTERM_INTEGRITY"
fetch @xterm/addon-fit "$FIT_VERSION" "$FIT_INTEGRITY"

rm -rf "$VENDOR/xterm" "$VENDOR/addon-fit"
mkdir -p "$VENDOR/xterm" "$VENDOR/addon-fit"
install -m 0644 "$WORK/xterm/package/lib/xterm.js" "$VENDOR/xterm/xterm.js"
install -m 0644 "$WORK/xterm/package/css/xterm.css" "$VENDOR/xterm/xterm.css"
install -m 0644 "$WORK/xterm/package/LICENSE" "$VENDOR/xterm/LICENSE"
install -m 0644 "$WORK/addon-fit/package/lib/addon-fit.js" "$VENDOR/addon-fit/addon-fit.js"
install -m 0644 "$WORK/addon-fit/package/LICENSE" "$VENDOR/addon-fit/LICENSE"

cat >"$VENDOR/README.md" <<EOF
# Vendored browser libraries of the web viewer

Written by \`scripts/vendor-xterm.sh\`; do not edit these files by hand.

| directory | npm package | version | license |
|---|---|---|---|
| \`xterm/\` | [@xterm/xterm](https://www.npmjs.com/package/@xterm/xterm) | $XTERM_VERSION | MIT (\`xterm/LICENSE\`) |
| \`addon-fit/\` | [@xterm/addon-fit](https://www.npmjs.com/package/@xterm/addon-fit) | $FIT_VERSION | MIT (\`addon-fit/LICENSE\`) |

Only what the page loads is kept: \`lib/xterm.js\` and \`css/xterm.css\` of
xterm.js, \`lib/addon-fit.js\` of the fit addon (UMD builds, loaded with plain
\`<script>\` tags: they define \`window.Terminal\` and \`window.FitAddon\`), and
each package's LICENSE. The files are unchanged from the npm tarballs, whose
sha512 integrity the script checks. \`src/ui.rs\` embeds them in the binary,
so building termbridge needs no network.

To update: set the new versions and their integrity (\`npm view
@xterm/xterm@VERSION dist.integrity\`) in \`scripts/vendor-xterm.sh\`, run
it, run \`cargo test --test viewer_ui --test viewer_browser\`, and commit
\`ui/vendor/\` together with the script.
EOF

log "vendored @xterm/xterm $XTERM_VERSION and @xterm/addon-fit $FIT_VERSION into $VENDOR"
