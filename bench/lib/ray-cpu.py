#!/usr/bin/env python3
"""CPU time and wake-ups of every process in one mount namespace over a window, per kind.

Usage: ray-cpu.py NS_PID DAEMON_PID WINDOW_S

Every process whose mount namespace is NS_PID's (the daemon's side: the daemon, `ray start`,
the raylet, Ray's agents and workers) is read twice from /proc/PID/stat (utime + stime, the
process's own threads; a child's time is not included), WINDOW_S apart. A process present at
both reads counts its difference; one started in the window counts all its time; one that ended
in the window is lost (so is its time: the line `ended_in_window` says how many). Prints one line
per kind, `cpu_s_per_hour_<kind>: X cpu-s/h (N processes)`, then the Ray total (everything but
the daemon) and the daemon.

Wake-ups are counted the same way: the voluntary and involuntary context switches of every
thread (/proc/PID/task/*/status), each one a time the thread was put on a CPU again, which is
what keeps a laptop's CPU out of its deepest idle state. `wakeups_per_sec_<kind>`, then the
Ray total. Then the threads that wake most, by kind and thread name
(`thread_wakeups_per_sec_<kind>/<thread>`, the names Ray and gRPC give their threads), which
says which part of a process a setting must reach.
"""
import os
import sys
import time

CLK = os.sysconf("SC_CLK_TCK")


def kind(pid, daemon):
    if pid == daemon:
        return "daemon"
    try:
        comm = open(f"/proc/{pid}/comm").read().strip()
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    if " start " in cmd and "/ray " in cmd:
        return "ray_start_block"
    if comm == "raylet":
        return "raylet"
    if "log_monitor.py" in cmd:
        return "log_monitor"
    if "DashboardAgent" in cmd or "dashboard/agent.py" in cmd:
        return "dashboard_agent"
    if "RuntimeEnvAgent" in cmd or "runtime_env/agent" in cmd:
        return "runtime_env_agent"
    if cmd.startswith("ray::") or "default_worker.py" in cmd:
        return "task_worker"
    return comm.replace(" ", "_").replace(":", "_") or "other"


def stat(pid):
    try:
        text = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime = 14, stime = 15, starttime = 22.
    return int(fields[11]) + int(fields[12]), int(fields[19])


def switches(pid):
    """Context switches of each of `pid`'s threads, by thread id: {tid: (name, switches)}
    (threads that ended are lost, as their CPU is)."""
    threads = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return threads
    for tid in tasks:
        name, total = "?", 0
        try:
            for line in open(f"/proc/{pid}/task/{tid}/status"):
                if line.startswith("Name:"):
                    name = line.split(None, 1)[1].strip()
                elif line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
        except OSError:
            continue
        threads[tid] = (name, total)
    return threads


def snapshot(ns, daemon):
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            if os.readlink(f"/proc/{pid}/ns/mnt") != ns:
                continue
        except OSError:
            continue
        k = kind(pid, daemon)
        s = stat(pid)
        if k and s:
            out[pid] = (k, s[0], s[1], switches(pid))
    return out


def main():
    ns_pid, daemon, window = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    ns = os.readlink(f"/proc/{ns_pid}/ns/mnt")
    t0 = time.monotonic()
    before = snapshot(ns, daemon)
    time.sleep(window)
    after = snapshot(ns, daemon)
    elapsed = time.monotonic() - t0
    per = {}
    count = {}
    woke = {}
    by_thread = {}
    for pid, (k, ticks, start, threads) in after.items():
        old = before.get(pid)
        same = old and old[2] == start
        per[k] = per.get(k, 0) + (ticks - old[1] if same else ticks)
        count[k] = count.get(k, 0) + 1
        for tid, (name, switched) in threads.items():
            was = old[3].get(tid, (name, 0))[1] if same else 0
            woke[k] = woke.get(k, 0) + switched - was
            key = f"{k}/{name.replace(' ', '_')}"
            by_thread[key] = by_thread.get(key, 0) + switched - was
    ended = sum(1 for pid, (_, _, start, _) in before.items()
                if pid not in after or after[pid][2] != start)
    scale = 3600.0 / elapsed / CLK
    for k in sorted(per, key=lambda k: -per[k]):
        print(f"cpu_s_per_hour_{k}: {per[k] * scale:.1f} cpu-s/h ({count[k]} processes)")
    ray = sum(v for k, v in per.items() if k != "daemon")
    print(f"cpu_s_per_hour_ray_total: {ray * scale:.1f} cpu-s/h")
    for k in sorted(woke, key=lambda k: -woke[k]):
        print(f"wakeups_per_sec_{k}: {woke[k] / elapsed:.1f} /s")
    ray_woke = sum(v for k, v in woke.items() if k != "daemon")
    print(f"wakeups_per_sec_ray_total: {ray_woke / elapsed:.1f} /s")
    for key in sorted(by_thread, key=lambda key: -by_thread[key])[:20]:
        print(f"thread_wakeups_per_sec_{key}: {by_thread[key] / elapsed:.1f} /s")
    print(f"window: {elapsed:.0f} s (resolution {scale:.2f} cpu-s/h per tick)")
    print(f"ended_in_window: {ended} processes")


main()
