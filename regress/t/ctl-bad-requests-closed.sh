#!/bin/bash
# A control client that sends what regctl never sends (a payload of the
# wrong size, a descriptor, a name too long, an unknown type) loses its
# connection without an answer, the log says why, and regctl still works.
. regress/lib.sh

regd_start

python3 - "$T/regd.sock" > "$T/out" 2>&1 <<'PY' || fail "client: $(cat "$T/out")"
import os, socket, struct, sys

HDR = struct.Struct("=IIIII")	# type, len, peerid, pid, flags
CTL_SHOW_TAGS, CTL_LOG_VERBOSE, CTL_GC = 0x382, 0x384, 0x385

def closed_without_answer(type_, payload, fd=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sys.argv[1])
    msg = HDR.pack(type_, len(payload), 0, os.getpid(),
                   1 if fd is not None else 0) + payload
    if fd is None:
        s.sendall(msg)
    else:
        s.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                           struct.pack("i", fd))])
    got = s.recv(4096)
    s.close()
    return got == b""

cases = [
    ("verbose of 2 bytes", CTL_LOG_VERBOSE, b"\1\0", None),
    ("gc flags of 8 bytes", CTL_GC, b"\0" * 8, None),
    ("tags of a 256-byte name", CTL_SHOW_TAGS, b"a" * 256, None),
    ("tags of an empty name", CTL_SHOW_TAGS, b"", None),
    ("verbose with a descriptor", CTL_LOG_VERBOSE, b"\1\0\0\0",
     os.open("/dev/null", os.O_RDONLY)),
    ("unknown type", 0x3ff, b"", None),
]
bad = [name for name, t, p, fd in cases if not closed_without_answer(t, p, fd)]
if bad:
    print("answered or left open:", ", ".join(bad))
    sys.exit(1)
PY

for why in "wrong size" "unexpected descriptor" "unexpected message"; do
	grep -q "control: $why" "$T/regd.log" ||
	    fail "the log does not say \"$why\""
done
out=$($REGCTL show status 2>&1) || fail "regctl show status after: $out"
out=$($REGCTL log brief 2>&1) || fail "regctl log brief after: $out"
check_eq "$out" "logging brief" "regctl log brief"
alive "$REGD_PID" || fail "the parent died"
exit 0
