#!/usr/bin/env python3
# regress/webhook.py PORT [SLEEP [STATUS]] OUT: a webhook receiver for the
# notify tests.  Each POST becomes one line of OUT, a JSON object
# {"path", "ctype", "headers", "body"} (body parsed as JSON, or null),
# written and flushed before the answer, so what OUT holds was received.
# SLEEP seconds are slept before each answer (a slow receiver), STATUS
# is the answer's status (default 200).  One thread a connection: regd
# sends one request at a time per endpoint, so order is regd's.  Writes OUT.up with its pid when
# it listens.
import http.server
import json
import os
import sys
import threading
import time

port, out = int(sys.argv[1]), sys.argv[-1]
delay = float(sys.argv[2]) if len(sys.argv) > 3 else 0.0
status = int(sys.argv[3]) if len(sys.argv) > 4 else 200
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if delay > 0:
            time.sleep(delay)
        if status < 300:
            rec = {"path": self.path,
                   "ctype": self.headers.get("Content-Type"),
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body}
            with lock, open(out, "a") as f:
                f.write(json.dumps(rec) + "\n")
                f.flush()
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
with open(out + ".up", "w") as f:
    f.write("%d\n" % os.getpid())
srv.serve_forever()
