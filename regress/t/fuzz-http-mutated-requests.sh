#!/bin/bash
# 4,000 requests made by mutating the HTTP seed corpus of the fuzzers
# (flipped, inserted, deleted and spliced bytes) go to a running regd
# over real connections, 50 at a time.  No regd process may die or be
# replaced, every answer must be a well-formed HTTP/1.1 status line and
# none a 500, and regd must serve normally afterwards.  A request whose
# head is complete and announces no body (no Content-Length, no
# Transfer-Encoding) must be answered: silence there fails, as does a
# GET /v2/ made every 250 requests that is not answered 200.  The random
# seed is printed (FUZZ_SEED repeats a run).
. regress/lib.sh

N=${FUZZ_REQUESTS:-4000}
SEED=${FUZZ_SEED:-$RANDOM$RANDOM}
note "seed $SEED"

# A runaway frontend must fail this test, not exhaust the machine.
[ -n "${REGD_ASAN:-}" ] || ulimit -v 2000000
regd_start "" "	connection { header timeout 3  body timeout 3 }"
push_image a v1
before=$(procs_of "$REGD_PID" | awk '{ print $1 }' | sort | tr '\n' ' ')

python3 - "$PORT" "$N" "$SEED" regress/fuzz/corpus/http > "$T/fuzz.out" \
    2>&1 <<'PYEOF'
import asyncio, os, random, re, sys

port, n, seed, corpus = int(sys.argv[1]), int(sys.argv[2]), \
    int(sys.argv[3]), sys.argv[4]
rnd = random.Random(seed)
# The first byte of a seed is the fuzz target's piece size, not HTTP.
seeds = [open(os.path.join(corpus, f), "rb").read()[1:]
    for f in sorted(os.listdir(corpus))]
seeds = [s for s in seeds if s]
tokens = [b"\r\n", b"\r\n\r\n", b":", b" ", b"\0", b"%00", b"..", b"/",
    b"Content-Length: 99999999999999999999", b"Transfer-Encoding: chunked",
    b"ffffffff\r\n", b"0\r\n\r\n", b"sha256:", b"HTTP/1.1", b"\xff\xfe",
    b"Range: bytes=-0", b"Content-Range: 5-1", b"?n=-1&last=\xff"]

def mutate(data):
    b = bytearray(data)
    for i in range(rnd.randint(1, 8)):
        op = rnd.randrange(6)
        p = rnd.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(p, len(b) - 1)] ^= 1 << rnd.randrange(8)
        elif op == 1:
            b[p:p] = bytes([rnd.randrange(256)])
        elif op == 2 and b:
            del b[p:p + rnd.randint(1, 16)]
        elif op == 3:
            b[p:p] = rnd.choice(tokens)
        elif op == 4:
            o = rnd.choice(seeds)
            q = rnd.randrange(len(o) + 1)
            b = b[:p] + o[q:]
        else:
            b[p:p] = b[p:p + rnd.randint(1, 64)] * rnd.randint(1, 50)
    return bytes(b)

results = {"answered": 0, "silent": 0, "bad": 0, "500": 0,
    "must_answer": 0, "unanswered": 0, "alive": 0, "dead": 0}

def must_answer(data):
    """A complete head with no body announced: nothing left to wait for."""
    end = data.find(b"\r\n\r\n")
    if end == -1:
        return False
    head = data[:end].lower()
    return b"content-length" not in head and \
        b"transfer-encoding" not in head

async def liveness():
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n"
            b"Connection: close\r\n\r\n")
        got = await asyncio.wait_for(r.read(65536), 10)
        w.close()
    except (asyncio.TimeoutError, OSError):
        got = b""
    if got.startswith(b"HTTP/1.1 200 "):
        results["alive"] += 1
    else:
        results["dead"] += 1
        examples.append("GET /v2/ during the run: %r" % got[:80])
statuses = {}
examples = []

async def one(i, sem):
    data = mutate(rnd.choice(seeds))
    must = must_answer(data)
    if must:
        results["must_answer"] += 1
    if i % 250 == 0:
        await liveness()
    async with sem:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError as e:
            results["bad"] += 1
            examples.append("connect %d: %s" % (i, e))
            return
        try:
            w.write(data)
            await w.drain()
            try:
                w.write_eof()
            except OSError:
                pass
            got = await asyncio.wait_for(r.read(65536), 5 if must else 1.5)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            got = b""
        w.close()
    if not got:
        results["silent"] += 1
        if must:
            results["unanswered"] += 1
            examples.append("no answer to %r" % data[:120])
        return
    m = re.match(rb"HTTP/1\.1 ([1-5][0-9][0-9]) [^\r\n]*\r\n", got)
    if not m:
        results["bad"] += 1
        examples.append("malformed answer to %r: %r" % (data[:80], got[:80]))
        return
    st = m.group(1).decode()
    statuses[st] = statuses.get(st, 0) + 1
    results["answered"] += 1
    if st == "500":
        results["500"] += 1
        examples.append("500 for %r: %r" % (data[:120], got[-200:]))

async def main():
    sem = asyncio.Semaphore(50)
    await asyncio.gather(*(one(i, sem) for i in range(n)))

asyncio.run(main())
print("requests %d: %s" % (n, " ".join("%s=%d" % kv for kv in
    sorted(results.items()))))
print("statuses: %s" % " ".join("%s:%d" % kv for kv in
    sorted(statuses.items())))
for e in examples[:10]:
    print("example: " + e)
sys.exit(1 if results["bad"] or results["500"] or results["unanswered"] or
    results["dead"] or results["alive"] == 0 or
    results["must_answer"] < n // 10 else 0)
PYEOF
rc=$?
while read -r line; do
	note "$line"
done < "$T/fuzz.out"
[ "$rc" -eq 0 ] || fail "malformed answers, 500s, unanswered requests or" \
    "a failed liveness check (seed $SEED)"

after=$(procs_of "$REGD_PID" | awk '{ print $1 }' | sort | tr '\n' ' ')
check_eq "$after" "$before" "regd processes after the mutated requests"
grep -Eq "died|exited with" "$T/regd.log" &&
    fail "a regd process ended: $(grep -E 'died|exited with' "$T/regd.log")"

http GET "$URL/v2/a/manifests/v1" -H "Accept: $ACCEPT_MANIFESTS"
check_eq "$STATUS" 200 "GET of the manifest afterwards"
cmp -s "$BODY" "$IMG_MANIFEST" || fail "the manifest changed"
regd_stop
exit 0
