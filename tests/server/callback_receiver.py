"""A client's ping callback for tests/server/test_callback.sh: an HTTPS
server (ssl, http.server) that appends each POST as one JSON line
{"path", "authorization", "body"} to LOG.  /hang answers only after 30 s.
Usage: callback_receiver.py CERT KEY LOG PORTFILE"""
import http.server
import json
import ssl
import sys
import time

CERT, KEY, LOG, PORTFILE = sys.argv[1:5]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode()
        if self.path == "/hang":
            time.sleep(30)
        with open(LOG, "a") as f:
            f.write(json.dumps({"path": self.path,
                "authorization": self.headers.get("Authorization"),
                "body": json.loads(body)}) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
