#!/usr/bin/env bash
# Builds termbridge's MCP bundle (.mcpb) for Claude Desktop and other MCPB
# hosts, and validates it with the official MCPB CLI (@anthropic-ai/mcpb).
#
#   scripts/build-mcpb.sh                          # release build -> dist/termbridge-<version>-<platform>.mcpb
#   scripts/build-mcpb.sh --binary PATH --out FILE # bundle an already built binary (the test suite
#                                                  # bundles the debug binary: a release build takes
#                                                  # minutes; releases come from the first form)
#
# The bundle holds manifest.json (MCPB manifest 0.4, server type "binary",
# printed by `termbridge mcpb-manifest` from the tool registry, so its tools
# list is the server's tools/list) and server/termbridge. Installed in a host,
# it runs `termbridge bridge --url http://127.0.0.1:<port>/mcp` with the token
# from the user's configuration (empty: the token file): it connects the host
# to a running `termbridge serve`. Nothing else runs: no Docker, no Node, no
# Python at run time. Node/npm are needed only here, to run the MCPB CLI.
#
# Steps: build (unless --binary), stage manifest + binary (debug info
# stripped from the copy when `strip` exists), `mcpb validate` the manifest,
# `mcpb pack` (validates again), `mcpb info`, then check the packed archive
# holds both files. The CLI is installed with npm, pinned, into
# ${TERMBRIDGE_CACHE:-~/.cache/termbridge}/mcpb (once).
# Prints the bundle's path as the last line on stdout; progress on stderr.
set -euo pipefail

MCPB_CLI_VERSION=2.1.2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TERMBRIDGE_CACHE:-$HOME/.cache/termbridge}"
CLI_DIR="$CACHE/mcpb"

log() { printf 'build-mcpb: %s\n' "$*" >&2; }
die() { printf 'build-mcpb: ERROR: %s\n' "$*" >&2; exit 1; }

binary=""
out=""
while (($#)); do
    case "$1" in
        --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
        --out) out="${2:?--out needs a file name}"; shift 2 ;;
        -h|--help) sed -n '2,27p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done

command -v npm >/dev/null 2>&1 || die "npm is needed to run the MCPB CLI (apt-get install npm)"

# ---------------------------------------------------------------- the CLI
install_cli() {
    local have=""
    if [[ -f "$CLI_DIR/node_modules/@anthropic-ai/mcpb/package.json" ]]; then
        have="$(node -p "require('$CLI_DIR/node_modules/@anthropic-ai/mcpb/package.json').version" 2>/dev/null || true)"
    fi
    if [[ "$have" == "$MCPB_CLI_VERSION" ]]; then
        return 0
    fi
    log "installing @anthropic-ai/mcpb@$MCPB_CLI_VERSION into $CLI_DIR"
    mkdir -p "$CLI_DIR"
    npm install --prefix "$CLI_DIR" --no-audit --no-fund --loglevel=error \
        "@anthropic-ai/mcpb@$MCPB_CLI_VERSION" </dev/null >&2 ||
        die "npm install @anthropic-ai/mcpb@$MCPB_CLI_VERSION failed (is the npm registry reachable?)"
}
mkdir -p "$CACHE"
if command -v flock >/dev/null 2>&1; then
    exec 8>"$CACHE/.mcpb.lock"
    flock -w 600 8 || die "timed out waiting for $CACHE/.mcpb.lock"
fi
install_cli
MCPB="$CLI_DIR/node_modules/.bin/mcpb"
[[ -x "$MCPB" ]] || die "no mcpb CLI at $MCPB"

# ---------------------------------------------------------------- the binary
if [[ -z "$binary" ]]; then
    log "building the release binary (cargo build --release)"
    (cd "$ROOT" && cargo build --release --bin termbridge >&2)
    binary="${CARGO_TARGET_DIR:-$ROOT/target}/release/termbridge"
fi
[[ -x "$binary" ]] || die "no executable at $binary"
version="$("$binary" --version | awk '{print $2}')"
platform="$(uname -s | tr '[:upper:]' '[:lower:]')"
arch="$(uname -m)"
[[ -n "$out" ]] || out="$ROOT/dist/termbridge-$version-$platform-$arch.mcpb"
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

# ---------------------------------------------------------------- stage and pack
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/server"
cp "$binary" "$stage/server/termbridge"
chmod 0755 "$stage/server/termbridge"
if command -v strip >/dev/null 2>&1; then
    strip --strip-debug "$stage/server/termbridge" 2>/dev/null || log "strip failed; bundling unstripped"
fi
"$stage/server/termbridge" mcpb-manifest >"$stage/manifest.json"

log "validating the manifest"
"$MCPB" validate "$stage/manifest.json" >&2
log "packing $out"
rm -f "$out"
(cd "$stage" && "$MCPB" pack . "$out" </dev/null >&2)
"$MCPB" info "$out" >&2

# The archive must hold the manifest and an executable server.
if command -v unzip >/dev/null 2>&1; then
    listing="$(unzip -Z1 "$out")"
    grep -qx 'manifest.json' <<<"$listing" || die "manifest.json missing from $out"
    grep -qx 'server/termbridge' <<<"$listing" || die "server/termbridge missing from $out"
fi
log "done: $out"
printf '%s\n' "$out"
