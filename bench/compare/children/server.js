// Node.js twin of server.py, only for PM2's cluster mode (Node's `cluster` module runs
// Node.js apps only). Same protocol: JSON-line markers with CLOCK_MONOTONIC seconds
// (process.hrtime is CLOCK_MONOTONIC on Linux), a leak per request, SIGINT/SIGTERM hook.
"use strict";
const fs = require("fs");
const http = require("http");

function arg(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const markers = arg("--markers");
const port = Number(arg("--port"));
const leakBytes = Number(arg("--leak-bytes-per-request", String(256 * 1024)));
const leaked = [];

function record(event, figures) {
  const t = Number(process.hrtime.bigint()) / 1e9;
  const line = JSON.stringify({ event, pid: process.pid, t, ...figures });
  fs.appendFileSync(markers, line + "\n");
}

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  record("signal", { signum: signal === "SIGINT" ? 2 : 15, rss_bytes: process.memoryUsage().rss });
  // Drain like server.py: stop accepting, answer the accepted requests, then the hook and exit.
  server.close(() => {
    record("hook");
    process.exit(0);
  });
  server.closeIdleConnections();
  setTimeout(() => { record("hook"); process.exit(0); }, 5000).unref();
}
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));

const server = http.createServer((request, response) => {
  leaked.push(Buffer.alloc(leakBytes, 1));
  response.writeHead(200, { "Content-Length": "3" });
  response.end("ok\n");
});
server.listen(port, "127.0.0.1", () => record("ready", { rss_bytes: process.memoryUsage().rss }));
