#!/usr/bin/env bash
# The one command that runs termbridge's whole test suite.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -- --nocapture  # extra arguments go to `cargo test`
#   scripts/test.sh mcp_            # a test-name filter
#
# Prepares the machine (scripts/setup-test-env.sh: apt packages, the Python
# venv with the official MCP SDK), exports TERMBRIDGE_TEST_PYTHON (the venv's
# python, which the Rust tests use to run tests/py/*.py), then runs
# `cargo test --workspace --all-targets "$@"`. `--all-targets` does not include
# doctests, so without extra arguments `cargo test --workspace --doc` runs too,
# and then the load and terminal benchmarks once in their quick mode
# (`cargo bench --bench load -- --quick`, same for terminal: release build,
# a minute or two each, tables printed, no thresholds; a bench that fails or
# panics fails the run). `--all-targets` builds the bench binaries too, but
# without `--bench` they stop at once (BENCHMARKS.md, "Benchmarks in CI").
# A test filter or extra arguments skip the doctests and the benchmarks.
# Build output goes to $CARGO_TARGET_DIR when set (cargo reads it), else target/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CACHE="${TERMBRIDGE_CACHE:-$HOME/.cache/termbridge}"
export TERMBRIDGE_CACHE="$CACHE"

bash "$ROOT/scripts/setup-test-env.sh" >/dev/null
# shellcheck source=/dev/null
source "$CACHE/test-env.sh"
export TERMBRIDGE_TEST_PYTHON
[[ -x "$TERMBRIDGE_TEST_PYTHON" ]] || { echo "test.sh: TERMBRIDGE_TEST_PYTHON=$TERMBRIDGE_TEST_PYTHON is not executable" >&2; exit 1; }

echo "test.sh: TERMBRIDGE_TEST_PYTHON=$TERMBRIDGE_TEST_PYTHON" >&2
echo "test.sh: target dir: ${CARGO_TARGET_DIR:-$ROOT/target (default)}" >&2

cargo test --workspace --all-targets "$@"
if (($# == 0)); then
    cargo test --workspace --doc
    cargo bench --bench load -- --quick
    cargo bench --bench terminal -- --quick
fi
