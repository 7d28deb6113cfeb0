#!/usr/bin/env python3
# regress/token-server.py PORT KEY USER:PASS LOG [CERT CERTKEY]: a small
# registry token service for the mirror tests, over TLS with CERT.  GET /token?service=S&scope=repository:
# NAME:pull with Basic USER:PASS answers {"token": an RS256 JWT signed
# with KEY (issuer "test-issuer", audience S, pull on NAME), "expires_in":
# 300}; anything else is 401.  Each request's line goes to LOG.
import base64, json, ssl, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse, parse_qs
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

port, keyfile, cred, logfile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
with open(keyfile, 'rb') as f:
    key = serialization.load_pem_private_key(f.read(), None)

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        auth = self.headers.get('Authorization', '')
        ok = auth == 'Basic ' + base64.b64encode(cred.encode()).decode()
        with open(logfile, 'a') as f:
            f.write('%s %s basic=%d\n' % (self.command, self.path, ok))
        scope = q.get('scope', [''])[0].split(':')
        if u.path != '/token' or not ok or len(scope) != 3:
            self.send_response(401)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        now = int(time.time())
        claims = {'iss': 'test-issuer', 'sub': cred.split(':')[0],
            'aud': q.get('service', [''])[0], 'exp': now + 300,
            'nbf': now - 5, 'iat': now, 'access': [{'type': 'repository',
            'name': scope[1], 'actions': ['pull']}]}
        si = b64(b'{"alg":"RS256","typ":"JWT"}') + '.' + \
            b64(json.dumps(claims).encode())
        sig = key.sign(si.encode(), padding.PKCS1v15(), hashes.SHA256())
        body = json.dumps({'token': si + '.' + b64(sig),
            'expires_in': 300}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

srv = HTTPServer(('127.0.0.1', port), H)
if len(sys.argv) > 6:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[5], sys.argv[6])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
