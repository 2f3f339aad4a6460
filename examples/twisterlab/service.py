#!/usr/bin/env python3
"""TwisterLab's stand-in service, for the example: enough of an API for
ferry's hooks, checks and watch window to talk to.

  GET /health            200 {"status": "ok"}, or 503 while maintenance.flag
                         exists in the folder (the maintenance hooks' flag)
  GET /metrics/summary   {"error_rate": ..., "p95_ms": ..., "requests": ...}:
                         metrics.json in the folder when it exists, else a
                         healthy default

  python3 service.py [--port 8077] [--dir .]
"""
import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEALTHY = {"error_rate": 0.002, "p95_ms": 180, "requests": 1200}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8077)
    ap.add_argument("--dir", default=".")
    args = ap.parse_args()
    folder = os.path.abspath(args.dir)

    class Handler(BaseHTTPRequestHandler):
        def send(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health":
                if os.path.exists(os.path.join(folder, "maintenance.flag")):
                    self.send(503, {"status": "maintenance"})
                else:
                    self.send(200, {"status": "ok"})
            elif self.path == "/metrics/summary":
                try:
                    with open(os.path.join(folder, "metrics.json")) as f:
                        self.send(200, json.load(f))
                except FileNotFoundError:
                    self.send(200, HEALTHY)
            else:
                self.send(404, {"error": "not found"})

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
