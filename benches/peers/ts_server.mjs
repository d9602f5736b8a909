// The official MCP TypeScript SDK serving one trivial tool, `server_info`,
// over streamable HTTP in stateless JSON mode (a fresh server and transport
// per request, as the SDK's stateless example does), on express: the
// TypeScript peer of benches/load.rs (see run.sh). Usage: node ts_server.mjs PORT
import express from "express";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

const port = Number(process.argv[2]);

function makeServer() {
  const server = new McpServer({ name: "peer-typescript", version: "1" });
  server.registerTool(
    "server_info",
    { description: "Returns the server's name and version.", inputSchema: {} },
    async () => ({
      content: [{ type: "text", text: JSON.stringify({ name: "peer-typescript", version: "1" }) }],
    }),
  );
  return server;
}

const app = express();
app.use(express.json());
app.post("/mcp", async (req, res) => {
  const server = makeServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  res.on("close", () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});
app.listen(port, "127.0.0.1");
