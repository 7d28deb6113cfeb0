#!/bin/bash
#
# Storage's memory stays bounded under manifest pushes: bodies held at
# once share a budget (past it a PUT is refused with 503), a truncated
# or aborted body gives its memory back, and the per-digest facts cache
# does not keep large annotations.  Measured as storage's RSS.
#   - 140 manifest PUTs announcing 4 MiB, each sending all but 64 KiB
#     and then waiting: storage holds at most its budget;
#   - the clients go away: the memory goes back;
#   - 25 manifests with 3.9 MiB of annotations: not kept.

. ./regress/lib.sh
[ -z "${REGD_ASAN:-}" ] || skip "RSS limits mean nothing under ASan (its allocator keeps freed memory in quarantine)"

regd_start
spid=$(pids_titled storage)
[ -n "$spid" ] || fail "no storage process"
rss() { awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$spid/status"; }
base=$(rss)

python3 - "$PORT" "$T/held" <<'PYEOF' &
import socket, sys, time
port, flag = int(sys.argv[1]), sys.argv[2]
socks = []
body = b" " * (4 * 1024 * 1024 - 65536)
for i in range(140):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("PUT /v2/m/x/manifests/t%d HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"
        "Content-Length: %d\r\n\r\n" % (i, 4 * 1024 * 1024)).encode())
    s.setblocking(False)
    try:
        s.send(body)
    except OSError:
        pass
    socks.append(s)
open(flag, "w").write("1")
time.sleep(6)
PYEOF
py=$!
n=0
while [ ! -s "$T/held" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
sleep 3
held=$(rss)
wait "$py"
# The frontends see the clients go and abort their bodies: wait for that.
n=0
while after=$(rss) && [ $((after - base)) -ge 40 ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
echo "storage RSS: ${base} MB at start, ${held} MB with 140 bodies held," \
    "${after} MB after" >&2
[ $((held - base)) -lt 200 ] || fail "140 held bodies took $((held - base)) MB"
[ $((after - base)) -lt 40 ] || fail "$((after - base)) MB kept after the clients left"

# 25 manifests, 3.9 MiB of annotations each.
make_blob 100 "$T/cfg"
push_blob m/a "$T/cfg"
pad=$(head -c $((3900 * 1024)) /dev/zero | tr '\0' a)
for i in $(seq 1 25); do
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":100},"layers":[],"annotations":{"n":"%d","pad":"%s"}}' \
	    "$(sha "$T/cfg")" "$i" "$pad" > "$T/m"
	http PUT "$URL/v2/m/a/manifests/t$i" --max-time 60 \
	    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	    --data-binary "@$T/m"
	check_eq "$STATUS" 201 "manifest $i with 3.9 MiB of annotations"
done
sleep 1
ann=$(rss)
echo "storage RSS after 25 manifests with 3.9 MiB annotations: ${ann} MB" >&2
[ $((ann - base)) -lt 40 ] || fail "annotations kept $((ann - base)) MB"
regd_stop
exit 0
