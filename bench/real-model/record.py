#!/usr/bin/env python3
"""A recording pass-through between testsmith and the model server: every chat request and
the server's reply go to a JSON-lines file, so a benchmark run can be read afterwards — what
the model was given, what it answered, why an answer was refused.

usage: record.py LISTEN_PORT UPSTREAM_URL LOG.jsonl

Passes a streamed reply on as it comes (testsmith streams its requests): a reply read whole
first delivered nothing until the answer ended, so testsmith's read timeout cut every answer
that took longer and sent it again while the server went on generating the first. When
testsmith hangs up, the upstream connection is closed too, so the server stops generating.
"""
import json, sys, threading, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, upstream, log_path = int(sys.argv[1]), sys.argv[2].rstrip("/"), sys.argv[3]
lock = threading.Lock()


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        request = urllib.request.Request(upstream + self.path, data=body, method=self.command)
        for name in ("Content-Type", "Authorization", "Accept"):
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        try:
            reply = urllib.request.urlopen(request, timeout=3600)
            status = reply.status
        except urllib.error.HTTPError as error:
            reply, status = error, error.code
        self.send_response(status)
        self.send_header("Content-Type", reply.headers.get("Content-Type", "") or "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunks = []
        try:
            while True:
                chunk = reply.read1(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            chunks.append(b"\n[testsmith hung up]")
        finally:
            reply.close()
        if body:
            raw_reply = b"".join(chunks)
            with lock, open(log_path, "a") as log:
                entry = {"path": self.path, "status": status}
                for key, raw in (("request", body), ("reply", raw_reply)):
                    try:
                        entry[key] = json.loads(raw)
                    except ValueError:
                        entry[key] = raw.decode(errors="replace")
                log.write(json.dumps(entry) + "\n")

    do_GET = do_POST = handle_one

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Recorder).serve_forever()
