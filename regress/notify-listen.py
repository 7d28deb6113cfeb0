#!/usr/bin/env python3
# regress/notify-listen.py SOCKET OUT: stand in for systemd's notify
# socket.  SOCKET is a path or, starting with "@", an abstract name.  Each
# datagram becomes one line of OUT: "PID ASSIGNMENT|ASSIGNMENT|...", PID
# being the sender's as the kernel tells it (SCM_CREDENTIALS).
import os
import socket
import struct
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\0" + path[1:] if path.startswith("@") else path)
with open(out + ".up", "w") as f:
    f.write("%d\n" % os.getpid())
while True:
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = 0
    for level, kind, cdata in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", cdata[:12])[0]
    text = data.decode("utf-8", "replace").rstrip("\n").replace("\n", "|")
    with open(out, "a") as f:
        f.write("%d %s\n" % (pid, text))
