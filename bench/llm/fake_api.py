#!/usr/bin/env python3
"""A fake OpenAI-compatible chat-completions server for benchmarks: every request waits a
fixed latency, then answers with a trivially passing test for each test name the prompt asks
for. Standard library only; one thread per connection, so concurrency is the client's.

    fake_api.py PORT LATENCY_SECONDS
"""
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LATENCY = float(sys.argv[2])
NAME = re.compile(r"test name `([^`]+)`")


def test_for(name):
    if name.startswith("Test"):
        return f"func {name}(t *testing.T) {{\n\tt.Log(\"ok\")\n}}"
    return f"#[test]\nfn {name}() {{\n    assert!(true);\n}}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle on, the second waits for the client's
    # delayed ACK (~40 ms), which would be measured as testsmith's overhead.
    disable_nagle_algorithm = True

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = "\n".join(m.get("content", "") for m in body.get("messages", []))
        names = list(dict.fromkeys(NAME.findall(text)))
        time.sleep(LATENCY)
        envelope = {"tests": [{"name": n, "code": test_for(n)} for n in names]}
        reply = json.dumps({
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": json.dumps(envelope)}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
