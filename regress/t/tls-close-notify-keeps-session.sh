#!/bin/bash
# A TLS connection that regd closes after its answer ("Connection:
# close") or when idle ends with a close_notify, as nginx's do: an
# OpenSSL client (curl, python) takes a close without one for a
# truncation and drops the session, so the next connection could not
# resume.  Python's ssl module (OpenSSL) reads to the end, then resumes
# the session on a new connection, with TLS 1.2 and 1.3.
. regress/lib.sh
. regress/authlib.sh

tls_start "" "	connection { idle timeout 1 }"

python3 - "$TPORT" "$T/ca.crt" > "$T/out" 2>&1 <<'PY' || fail "$(cat "$T/out")"
import socket
import ssl
import sys

port, ca = int(sys.argv[1]), sys.argv[2]

def context(ver):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.minimum_version = ctx.maximum_version = ver
    return ctx

def conn(ctx, ver, sess, close):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    t = ctx.wrap_socket(s, server_hostname="127.0.0.1", session=sess,
        suppress_ragged_eofs=False)
    req = "GET /v2/ HTTP/1.1\r\nHost: x\r\n"
    if close:
        req += "Connection: close\r\n"
    t.sendall((req + "\r\n").encode())
    got = b""
    while True:
        try:
            b = t.recv(65536)
        except ssl.SSLEOFError as e:
            sys.exit("%s: closed without close_notify (%s)" % (ver, e))
        if not b:
            break
        got += b
    if not got.startswith(b"HTTP/1.1 200"):
        sys.exit("%s: %r" % (ver, got[:100]))
    return t.session, t.session_reused

for ver in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
    # closed after the answer, then closed when idle (1 s)
    for close in (True, False):
        ctx = context(ver)
        sess, _ = conn(ctx, ver, None, close)
        _, reused = conn(ctx, ver, sess, True)
        if not reused:
            sys.exit("%s (close=%s): session not resumed" % (ver, close))
print("ok")
PY
note "$(cat "$T/out")"
exit 0
