#!/usr/bin/env python3
"""A recording pass-through between testsmith and the model server: every chat request and
the server's reply go to a JSON-lines file, so a benchmark run can be read afterwards — what
the model was given, what it answered, why an answer was refused.

usage: record.py LISTEN_PORT UPSTREAM_URL LOG.jsonl

Streams nothing itself: a request is forwarded whole and its reply returned whole (testsmith
asks without `stream` unless told to), with the upstream's status and body unchanged.
"""
import json, sys, threading, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, upstream, log_path = int(sys.argv[1]), sys.argv[2].rstrip("/"), sys.argv[3]
lock = threading.Lock()


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def forward(self, body):
        request = urllib.request.Request(upstream + self.path, data=body, method=self.command)
        for name in ("Content-Type", "Authorization", "Accept"):
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        try:
            with urllib.request.urlopen(request, timeout=3600) as reply:
                return reply.status, reply.headers.get("Content-Type", ""), reply.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", ""), error.read()

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        status, kind, reply = self.forward(body)
        if body:
            with lock, open(log_path, "a") as log:
                entry = {"path": self.path, "status": status}
                for key, raw in (("request", body), ("reply", reply)):
                    try:
                        entry[key] = json.loads(raw)
                    except ValueError:
                        entry[key] = raw.decode(errors="replace")
                log.write(json.dumps(entry) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", kind or "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = handle_one

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Recorder).serve_forever()
