#!/usr/bin/env bash
# Peer baselines for BENCHMARKS.md: the official MCP Python SDK (FastMCP) and
# TypeScript SDK (express), each serving a trivial `server_info` tool over
# streamable HTTP in stateless JSON mode, loaded by the same generator as
# termbridge (`cargo bench --bench load -- --peer URL`), after the actix
# baselines of the same run. Optional: needs python3 (venv, pip) and node +
# npm, and installs the SDKs into a temporary directory (removed at the end).
#
#   benches/peers/run.sh            # full: 10 s per scenario, 64 connections
#   benches/peers/run.sh --quick    # 2 s per scenario
#
# Versions: PEERS_PY_SDK (default mcp==1.30.0), PEERS_TS_SDK (default
# @modelcontextprotocol/sdk@1). Only 127.0.0.1 is used.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/benches/peers"
WORK="$(mktemp -d -t termbridge-peers-XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 300); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "peers: nothing listens on port $1" >&2
    return 1
}

echo "peers: installing the SDKs into $WORK" >&2
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "${PEERS_PY_SDK:-mcp==1.30.0}" >&2
(cd "$WORK" && npm init -y >/dev/null && npm install --silent "${PEERS_TS_SDK:-@modelcontextprotocol/sdk@1}" express >&2)
cp "$HERE/ts_server.mjs" "$WORK/"

# Build the bench first so its compile time does not overlap a peer's run.
(cd "$ROOT" && cargo bench --bench load --no-run >&2)

PY_PORT=$(free_port)
"$WORK/venv/bin/python" "$HERE/python_server.py" "$PY_PORT" >"$WORK/python.log" 2>&1 &
PIDS+=($!)
wait_port "$PY_PORT"
(cd "$ROOT" && cargo bench --bench load -- "$@" --peer "http://127.0.0.1:$PY_PORT/mcp" --peer-name "python-sdk")
kill "${PIDS[0]}" 2>/dev/null || true

TS_PORT=$(free_port)
node "$WORK/ts_server.mjs" "$TS_PORT" >"$WORK/ts.log" 2>&1 &
PIDS+=($!)
wait_port "$TS_PORT"
(cd "$ROOT" && cargo bench --bench load -- "$@" --peer "http://127.0.0.1:$TS_PORT/mcp" --peer-name "typescript-sdk")
