#!/usr/bin/env python3
#
# procs.py: CPU time and memory of process trees, read from /proc.
#
#   procs.py cpu PID...   seconds of CPU (utime+stime, plus the cutime and
#                         cstime of reaped children) used so far by each
#                         PID's tree, one figure per PID on one line
#   procs.py mem PID...   "rss hwm pss nproc" in KiB for each PID's tree,
#                         one line per PID
#   procs.py peaks PID    "title: VmHWM KiB" of each process of the tree,
#                         separated by commas
#   procs.py pids PID...  the pids of each tree, space separated

import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the
    # last ')'.
    return s[s.rindex(")") + 2:].split()


def all_parents():
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        f = stat_fields(int(name))
        if f is None or f[0] in ("Z", "X"):
            continue
        parent[int(name)] = int(f[1])
    return parent


def tree(root, parent):
    if root not in parent:
        return []
    children = {}
    for p, pp in parent.items():
        children.setdefault(pp, []).append(p)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu(pids):
    ticks = 0
    for p in pids:
        f = stat_fields(p)
        if f is None:
            continue
        # Fields 14-17 of stat(5): utime stime cutime cstime.
        ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return ticks / TICK


def status_kib(pid, keys):
    vals = dict.fromkeys(keys, 0)
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in vals:
                    vals[k] = int(v.split()[0])
    except OSError:
        pass
    return vals


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def title(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            t = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
    return " ".join(t.split()) or "?"


def mem(pids):
    rss = hwm = pss = 0
    for p in pids:
        v = status_kib(p, ("VmRSS", "VmHWM"))
        rss += v["VmRSS"]
        hwm += v["VmHWM"]
        pss += pss_kib(p)
    return rss, hwm, pss, len(pids)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("cpu", "mem", "peaks",
                                                "pids"):
        sys.stderr.write("usage: procs.py cpu|mem|peaks|pids PID...\n")
        return 2
    parent = all_parents()
    roots = [int(a) for a in sys.argv[2:]]
    if sys.argv[1] == "cpu":
        print(" ".join("%.2f" % cpu(tree(r, parent)) for r in roots))
    elif sys.argv[1] == "mem":
        for r in roots:
            print("%d %d %d %d" % mem(tree(r, parent)))
    elif sys.argv[1] == "peaks":
        out = []
        for p in sorted(tree(roots[0], parent)):
            out.append("%s: %d" % (title(p),
                                   status_kib(p, ("VmHWM",))["VmHWM"]))
        print(", ".join(out))
    else:
        for r in roots:
            print(" ".join(str(p) for p in sorted(tree(r, parent))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
