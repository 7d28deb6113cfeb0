#!/usr/bin/env python3
#
# table.py FILE: print the bench's table from the raw figures bench.sh
# wrote (see regress/bench/README for the columns), with the ratios
# regd/Distribution and regd/nginx and the targets.

import statistics
import sys

WORKLOADS = [
    ("mget", "manifest GET by tag, 64 conns"),
    ("bhead", "blob HEAD, 64 conns"),
    ("tags", "tags list (100 tags), 64 conns"),
    ("catalog", "catalog page (51 repos), 64 conns"),
    ("get1m", "1 MiB blob GET, 16 conns"),
    ("get256", "256 MiB blob GET, 1 stream"),
    ("push256", "monolithic push 256 MiB"),
    ("push4x64", "4 parallel 64 MiB pushes"),
    ("chunk64", "chunked push 64 MiB, 8 MiB PATCHes"),
    ("tls_mget", "TLS manifest GET by tag, 64 conns"),
    ("tls_get256", "TLS 256 MiB blob GET, 1 stream"),
]
SERVERS = ["regd", "dist", "nginx", "regd-tls", "nginx-tls"]
NAMES = {"regd": "regd", "dist": "Distribution", "nginx": "nginx",
         "regd-tls": "regd", "nginx-tls": "nginx"}
NOTES = {
    ("push256", "dist"): "POST + PUT",
    ("push4x64", "dist"): "POST + PUT",
    ("push256", "nginx"): "PUT, no digest",
    ("push4x64", "nginx"): "PUT, no digest",
    ("push256", "regd"): "POST ?digest=",
    ("push4x64", "regd"): "POST ?digest=",
}


def load(path):
    meta, mem, res = {}, {}, {}
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] == "meta":
                meta[p[1]] = p[2]
            elif p[0] == "mem":
                mem[p[1]] = ([int(x) for x in p[2].split()],
                             [int(x) for x in p[3].split()])
            elif p[0] == "res":
                wl, srv = p[1], p[2]
                res.setdefault((wl, srv), []).append({
                    "rate": float(p[4]), "unit": p[5],
                    "p99": None if p[6] == "-" else float(p[6]),
                    "cpu": float(p[7]), "work": float(p[8]),
                    "errors": int(p[9])})
    return meta, mem, res


def summary(runs):
    """Median rate and p99 over the repetitions; CPU per unit of work
    over all of them."""
    work = sum(r["work"] for r in runs)
    cpu = sum(r["cpu"] for r in runs)
    unit = runs[0]["unit"]
    p99s = [r["p99"] for r in runs if r["p99"] is not None]
    if unit == "req/s":
        per = cpu * 1000 / work if work else None   # CPU-ms per request
    else:
        per = cpu / (work / 1e9) if work else None  # CPU-s per GB
    return {
        "rate": statistics.median(r["rate"] for r in runs),
        "unit": unit,
        "p99": statistics.median(p99s) if p99s else None,
        "cpu": cpu,
        "per": per,
        "errors": sum(r["errors"] for r in runs),
        "n": len(runs),
    }


def fmt_rate(s):
    if s["unit"] == "req/s":
        return "{:,.0f} req/s".format(s["rate"])
    return "{:,.0f} MB/s".format(s["rate"])


def fmt_per(s):
    if s["per"] is None:
        return "-"
    if s["unit"] == "req/s":
        return "{:.3f} ms/req".format(s["per"])
    return "{:.2f} s/GB".format(s["per"])


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fx(x):
    return "-" if x is None else "{:.2f}x".format(x)


def check(name, ok, figure):
    return (name, "met" if ok else "MISSED", figure)


def targets(meta, mem, sums):
    """The issue's targets, as ratios in this run."""
    out = []
    sha = float(meta.get("sha256", "0"))

    def g(wl, srv):
        return sums.get((wl, srv))

    for wl, label in (("mget", "manifest GET"), ("bhead", "blob HEAD")):
        r, n = g(wl, "regd"), g(wl, "nginx")
        if r and n:
            x = ratio(r["rate"], n["rate"])
            out.append(check(label + " rate >= 0.6 x nginx",
                             x is not None and x >= 0.6, fx(x)))
            x = ratio(r["per"], n["per"])
            out.append(check(label + " CPU/req <= 3 x nginx",
                             x is not None and x <= 3, fx(x)))
            x = ratio(r["p99"], n["p99"])
            out.append(check(label + " p99 <= 2 x nginx",
                             x is not None and x <= 2, fx(x)))
    for wl, label in (("tags", "tags list"), ("catalog", "catalog page")):
        r, d = g(wl, "regd"), g(wl, "dist")
        if r and d:
            x = ratio(r["rate"], d["rate"])
            out.append(check(label + " rate >= 10 x Distribution",
                             x is not None and x >= 10, fx(x)))
    for wl, label in (("get1m", "1 MiB GET"), ("get256", "256 MiB GET")):
        r, n = g(wl, "regd"), g(wl, "nginx")
        if r and n:
            x = ratio(r["rate"], n["rate"])
            out.append(check(label + " MB/s >= 0.9 x nginx",
                             x is not None and x >= 0.9, fx(x)))
            x = ratio(r["per"], n["per"])
            out.append(check(label + " CPU/GB <= 1.2 x nginx",
                             x is not None and x <= 1.2, fx(x)))
    r = g("push256", "regd")
    if r and sha > 0:
        x = r["rate"] / sha
        out.append(check("monolithic push >= 0.7 x SHA-256 core rate",
                         x >= 0.7, "{} ({:,.0f} of {:,.0f} MB/s)".format(
                             fx(x), r["rate"], sha)))
    c = g("chunk64", "regd")
    if r and c:
        x = ratio(c["rate"], r["rate"])
        out.append(check("chunked push >= 0.8 x monolithic",
                         x is not None and x >= 0.8, fx(x)))
    p = g("push4x64", "regd")
    if r and p:
        x = ratio(p["rate"], r["rate"])
        out.append(check("4 parallel pushes beat one push",
                         x is not None and x > 1, fx(x)))
    if "regd" in mem:
        idle, end = mem["regd"]
        out.append(check("regd idle RSS <= 12 MiB", idle[0] <= 12 * 1024,
                         "{:.1f} MiB".format(idle[0] / 1024)))
        out.append(check("regd peak (VmHWM sum) <= 48 MiB",
                         end[1] <= 48 * 1024,
                         "{:.1f} MiB".format(end[1] / 1024)))
    for wl, label in (("tls_mget", "TLS manifest GET"),
                      ("tls_get256", "TLS 256 MiB GET")):
        r, n = g(wl, "regd-tls"), g(wl, "nginx-tls")
        if r and n:
            x = ratio(r["rate"], n["rate"])
            out.append(check(label + " >= 0.8 x nginx",
                             x is not None and x >= 0.8, fx(x)))
    errs = [k for k, s in sums.items() if s["errors"] > 0]
    for wl, srv in sorted(errs):
        out.append(("{} on {}: no failed requests".format(wl, srv),
                    "MISSED", "{} errors".format(sums[(wl, srv)]["errors"])))
    return out


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: table.py FILE\n")
        return 2
    meta, mem, res = load(sys.argv[1])
    sums = {k: summary(v) for k, v in res.items()}

    print("regd bench, {}".format(meta.get("date", "?")))
    print("machine: {}".format(meta.get("machine", "?")))
    print("load average: {}; {}; {} s".format(
        meta.get("load", "?"), meta.get("mode", "?"),
        meta.get("seconds", "?")))
    print("servers: {}".format(meta.get("versions", "?")))
    print("openssl speed -evp sha256, one core, 16 KiB blocks: "
          "{:,.0f} MB/s".format(float(meta.get("sha256", "0"))))
    print("MB = 10^6 bytes; CPU = utime+stime over the server's process "
          "tree during the phase; rate and p99 are medians of the "
          "repetitions")
    print()
    hdr = "{:<38} {:<26} {:>13} {:>7} {:>6} {:>13} {:>7} {:>7} {:>7} {:>7}"
    row = "{:<38} {:<26} {:>13} {:>7} {:>6.1f} {:>13} {:>7} {:>7} {:>7} {:>7}"
    print(hdr.format("workload", "server", "rate", "p99 ms", "CPU s",
                     "CPU/unit", "rate/D", "cpu/D", "rate/N", "cpu/N"))
    print("-" * 136)
    for wl, label in WORKLOADS:
        present = [s for s in SERVERS if (wl, s) in sums]
        if not present:
            continue
        first = True
        for srv in present:
            s = sums[(wl, srv)]
            rd = cd = rn = cn = ""
            if srv.startswith("regd"):
                d = sums.get((wl, "dist"))
                n = sums.get((wl, "nginx-tls" if srv == "regd-tls"
                              else "nginx"))
                if d:
                    rd = fx(ratio(s["rate"], d["rate"]))
                    cd = fx(ratio(s["per"], d["per"]))
                if n:
                    rn = fx(ratio(s["rate"], n["rate"]))
                    cn = fx(ratio(s["per"], n["per"]))
            name = NAMES[srv]
            if (wl, srv) in NOTES:
                name += " (" + NOTES[(wl, srv)] + ")"
            if s["errors"]:
                name += " ERR %d" % s["errors"]
            print(row.format(label if first else "", name, fmt_rate(s),
                             "-" if s["p99"] is None
                             else "{:.1f}".format(s["p99"]),
                             s["cpu"], fmt_per(s), rd, cd, rn, cn))
            first = False
    if meta.get("tls") != "yes":
        print("{:<38} TLS: not available in this build ({})".format(
            "TLS", meta.get("tls", "?")))
    print()
    print("memory, KiB summed over each server's process tree")
    print("{:<13} {:>6} {:>10} {:>10} {:>12} {:>12}".format(
        "server", "procs", "idle RSS", "idle PSS", "end RSS",
        "peak VmHWM"))
    for srv in ("regd", "dist", "nginx"):
        if srv not in mem:
            continue
        idle, end = mem[srv]
        print("{:<13} {:>6} {:>10,} {:>10,} {:>12,} {:>12,}".format(
            NAMES[srv], idle[3], idle[0], idle[2], end[0], end[1]))
    if meta.get("stalls"):
        print("stalls (figures of these phases are suspect): {}".format(
            meta["stalls"]))
    print("regd peak by process (VmHWM KiB): {}".format(
        meta.get("peaks", "?")))
    print()
    print("targets of issue 6 (regd, ratios in this run)")
    for name, verdict, figure in targets(meta, mem, sums):
        print("  {:<7} {:<48} {}".format(verdict, name, figure))
    print()
    print("columns: rate/D and cpu/D are regd over Distribution (rate, and "
          "CPU per request or per GB); rate/N and cpu/N regd over nginx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
