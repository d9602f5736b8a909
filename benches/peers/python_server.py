"""The official MCP Python SDK (FastMCP) serving one trivial tool,
`server_info`, over streamable HTTP in stateless JSON mode: the Python peer
of benches/load.rs (see run.sh). Usage: python_server.py PORT"""

import sys

from mcp.server.fastmcp import FastMCP

port = int(sys.argv[1])
mcp = FastMCP(
    "peer-python",
    host="127.0.0.1",
    port=port,
    stateless_http=True,
    json_response=True,
    log_level="WARNING",  # no access log line per request
)


@mcp.tool()
def server_info() -> dict:
    """Returns the server's name and version."""
    return {"name": "peer-python", "version": "1"}


if __name__ == "__main__":
    mcp.run(transport="streamable-http")
