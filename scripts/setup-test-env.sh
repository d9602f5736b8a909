#!/usr/bin/env bash
# Prepares a machine to run termbridge's test suite; safe to run again and again.
#
#   1. apt packages the integration tests drive: openssh-server (sshd on
#      loopback for the SSH tests; never started as a system service),
#      openssh-client (ssh, ssh-keygen), zsh (shell integration tests),
#      procps (kill, used to stop the test sshd's sessions), iproute2, tmux,
#      vim, less, chromium and fonts-dejavu-core (the web viewer's headless
#      browser test, tests/viewer_browser.rs). Only when one is
#      missing, and only as root (otherwise a loud warning and the tests that
#      need the package will fail or skip).
#   2. a Python venv at ${TERMBRIDGE_CACHE:-$HOME/.cache/termbridge}/venv with
#      the pinned packages of scripts/test-requirements.txt (official MCP SDK
#      1.x, openapi-spec-validator, jsonschema, httpx, websockets). A stamp file records
#      what was installed, so a second run does nothing.
#   3. prints `export TERMBRIDGE_TEST_PYTHON=<venv python>` on stdout (the only
#      stdout output; progress goes to stderr) and writes the same line to
#      ${TERMBRIDGE_CACHE}/test-env.sh. Rust tests find Python through that
#      variable.
#
# Usage:  scripts/setup-test-env.sh            # then: source ~/.cache/termbridge/test-env.sh
#         eval "$(scripts/setup-test-env.sh)"
# Env:    TERMBRIDGE_CACHE             cache directory (default ~/.cache/termbridge)
#         TERMBRIDGE_BOOTSTRAP_PYTHON  interpreter that creates the venv
#                                      (default: python3.11, else python3; needs >= 3.10)
#         TERMBRIDGE_SKIP_APT=1        do not look at apt packages at all
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REQUIREMENTS="$SCRIPT_DIR/test-requirements.txt"
CACHE="${TERMBRIDGE_CACHE:-$HOME/.cache/termbridge}"
VENV="$CACHE/venv"
STAMP="$VENV/.termbridge-setup-stamp"
ENV_FILE="$CACHE/test-env.sh"
APT_PACKAGES=(openssh-server openssh-client zsh procps iproute2 tmux vim less chromium fonts-dejavu-core)

log() { printf 'setup-test-env: %s\n' "$*" >&2; }
warn() {
    {
        printf '\n'
        printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
        printf '!! setup-test-env WARNING: %s\n' "$@"
        printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n'
    } >&2
}
die() { printf 'setup-test-env: ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- apt packages
install_apt_packages() {
    if [[ "${TERMBRIDGE_SKIP_APT:-}" == 1 ]]; then
        log "TERMBRIDGE_SKIP_APT=1: not checking apt packages"
        return 0
    fi
    if ! command -v dpkg-query >/dev/null 2>&1; then
        warn "no dpkg-query: not a Debian-like system; make sure these are installed yourself:" \
            "${APT_PACKAGES[*]}"
        return 0
    fi

    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        log "apt packages present: ${APT_PACKAGES[*]}"
        return 0
    fi

    if [[ "$(id -u)" != 0 ]]; then
        warn "not root: cannot install missing apt packages: ${missing[*]}" \
            "tests that need them will fail; run as root or: sudo apt-get install ${missing[*]}"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        warn "no apt-get: cannot install missing packages: ${missing[*]}"
        return 0
    fi

    log "installing missing apt packages: ${missing[*]}"
    # Installing openssh-server must not start a system sshd listening on all
    # interfaces: the tests start their own sshd on loopback. A policy-rc.d that
    # exits 101 forbids service starts; add one only if none exists, and remove
    # it again afterwards.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\n# temporary, from termbridge scripts/setup-test-env.sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        added_policy=1
        # shellcheck disable=SC2064  # expand now: the path is fixed
        trap "rm -f '$policy'" EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q </dev/null >&2
    apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" </dev/null >&2
    if ((added_policy)); then
        rm -f "$policy"
        trap - EXIT
    fi
    # Nor should the freshly installed sshd come up at the next boot.
    if [[ " ${missing[*]} " == *" openssh-server "* ]]; then
        log "disabling the system ssh service (tests run their own sshd on loopback)"
        if command -v systemctl >/dev/null 2>&1; then
            systemctl disable ssh.service >&2 2>&1 || log "could not disable ssh.service (ignored)"
        elif command -v update-rc.d >/dev/null 2>&1; then
            update-rc.d ssh disable >&2 2>&1 || log "could not disable ssh (ignored)"
        fi
    fi
}

# sshd refuses to start without its privilege separation directory, which
# lives on the /run tmpfs (gone after a reboot); the SSH tests need it.
ensure_sshd_runtime_dir() {
    if [[ "$(id -u)" == 0 && -x /usr/sbin/sshd && ! -d /run/sshd ]]; then
        mkdir -p /run/sshd
        chmod 0755 /run/sshd
        log "created /run/sshd (sshd privilege separation directory)"
    fi
}

# ---------------------------------------------------------------- python venv
pick_bootstrap_python() {
    local candidates=() c
    if [[ -n "${TERMBRIDGE_BOOTSTRAP_PYTHON:-}" ]]; then
        candidates=("$TERMBRIDGE_BOOTSTRAP_PYTHON")
    else
        candidates=(python3.11 python3)
    fi
    for c in "${candidates[@]}"; do
        if command -v "$c" >/dev/null 2>&1 &&
            "$c" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
            printf '%s\n' "$c"
            return 0
        fi
    done
    die "no Python >= 3.10 with the venv and ensurepip modules found (Debian: apt-get install python3-venv) (tried: ${candidates[*]})"
}

# What the stamp must say for the venv to count as complete.
wanted_stamp() {
    local req_hash
    req_hash="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
    printf 'termbridge-test-venv v1\nrequirements %s\npython %s\n' \
        "$req_hash" "$("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo none)"
}

venv_python_works() {
    [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1
}

setup_venv() {
    [[ -f "$REQUIREMENTS" ]] || die "missing $REQUIREMENTS"

    if venv_python_works && [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(wanted_stamp)" ]]; then
        log "venv up to date: $VENV"
        return 0
    fi

    if ! venv_python_works || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        local py
        py="$(pick_bootstrap_python)"
        if [[ -e "$VENV" ]]; then
            log "venv at $VENV is incomplete or broken: recreating it"
            rm -rf "$VENV"
        fi
        log "creating venv $VENV with $py ($("$py" --version 2>&1))"
        "$py" -m venv "$VENV"
    else
        log "reusing venv $VENV (packages out of date or never verified)"
    fi
    rm -f "$STAMP"

    log "installing pinned test packages from $REQUIREMENTS"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$VENV/bin/python" -m pip install -q --require-virtualenv -r "$REQUIREMENTS" </dev/null >&2 ||
        die "pip install failed (is PyPI reachable?)"

    # Prove the install is usable: the pinned versions are the ones imported,
    # and the APIs the test scripts use exist.
    "$VENV/bin/python" - "$REQUIREMENTS" >&2 <<'PY' || die "verifying the venv failed"
import re, sys
from importlib.metadata import version
direct = {}
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    m = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line)
    if m:
        direct[m.group(1)] = m.group(2)
bad = [f"{n}: want {v}, have {version(n)}" for n, v in direct.items() if version(n) != v]
if bad:
    sys.exit("version mismatch: " + "; ".join(bad))
import httpx, jsonschema, openapi_spec_validator  # noqa: F401
from jsonschema import Draft202012Validator  # noqa: F401
from openapi_spec_validator import validate  # noqa: F401
import mcp, mcp.types  # noqa: F401
from mcp import ClientSession  # noqa: F401
from mcp.client.streamable_http import streamablehttp_client  # noqa: F401
from websockets.sync.client import connect  # noqa: F401
print(f"setup-test-env: verified {len(direct)} pinned packages; mcp {version('mcp')}, "
      f"MCP protocol {mcp.types.LATEST_PROTOCOL_VERSION}")
PY

    wanted_stamp >"$STAMP.tmp"
    mv -f "$STAMP.tmp" "$STAMP"
}

# ------------------------------------------------------- gateway venv
# WebSSH's Claude Desktop extension runs IBM's ContextForge wrapper between
# the client and the server; tests/webssh.rs drives that exact wrapper. It
# gets its own venv: its dependencies must not move the pins above.
GATEWAY_VENV="$CACHE/venv-gateway"
GATEWAY_PACKAGE="mcp-contextforge-gateway==0.9.0"
GATEWAY_STAMP="$GATEWAY_VENV/.termbridge-setup-stamp"

setup_gateway_venv() {
    if [[ -x "$GATEWAY_VENV/bin/python" && -f "$GATEWAY_STAMP" && "$(cat "$GATEWAY_STAMP")" == "$GATEWAY_PACKAGE" ]]; then
        log "gateway venv up to date: $GATEWAY_VENV"
        return 0
    fi
    rm -rf "$GATEWAY_VENV"
    local py
    py="$(pick_bootstrap_python)"
    log "creating $GATEWAY_VENV with $GATEWAY_PACKAGE"
    "$py" -m venv "$GATEWAY_VENV"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$GATEWAY_VENV/bin/python" -m pip install -q --require-virtualenv "$GATEWAY_PACKAGE" </dev/null >&2 ||
        die "pip install $GATEWAY_PACKAGE failed (is PyPI reachable?)"
    "$GATEWAY_VENV/bin/python" -c 'import mcpgateway.wrapper' >/dev/null 2>&1 ||
        die "$GATEWAY_PACKAGE installed but mcpgateway.wrapper does not import"
    printf '%s' "$GATEWAY_PACKAGE" >"$GATEWAY_STAMP"
}

# ---------------------------------------------------------------- main
mkdir -p "$CACHE"
# Two runs at once (two CI jobs sharing a cache) must not both build the venv.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.setup.lock"
    flock -w 600 9 || die "timed out waiting for $CACHE/.setup.lock"
fi

install_apt_packages
ensure_sshd_runtime_dir
setup_venv
setup_gateway_venv

line="export TERMBRIDGE_TEST_PYTHON=$(printf '%q' "$VENV/bin/python")
export TERMBRIDGE_TEST_GATEWAY_PYTHON=$(printf '%q' "$GATEWAY_VENV/bin/python")"
if [[ ! -f "$ENV_FILE" || "$(cat "$ENV_FILE")" != "$line" ]]; then
    printf '%s\n' "$line" >"$ENV_FILE.tmp"
    mv -f "$ENV_FILE.tmp" "$ENV_FILE"
fi
log "wrote $ENV_FILE"
printf '%s\n' "$line"
