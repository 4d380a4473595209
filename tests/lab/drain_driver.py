"""A Ray driver for the drain experiments, run in the head host:

    lab.sh head-exec "$(dirname "$RAY")/python" tests/lab/drain_driver.py MARKER_DIR

It reads one command a line on stdin and answers each with one JSON line on stdout, so a test
can drive it step by step:

    laptop TAG SECS   a task that prefers the laptop node (soft node affinity: retried
                      elsewhere if the laptop goes away); answers {"ok": true}
    pin TAG SECS      a task hard-pinned to the laptop (resources={"node:100.64.0.2": 0.01})
    free TAG SECS     a task with no placement constraint
    spawner TAG SECS  like `laptop`, but the task first starts a child `sleep 600` in a session
                      of its own (as a task's helper process would), its pid in the attempt
    started TAG SECS  waits up to SECS until the task has started somewhere; answers
                      {"started": [attempts so far]}
    wait TAG SECS     waits up to SECS for the task's result; answers {"result": {...}} or
                      {"error": "..."}, plus "attempts"
    nodes             the head's view of the nodes
    quit

Every attempt of a task appends one JSON line to MARKER_DIR/TAG.attempts (the directory is
on the real filesystem, which both hosts see), so retries can be counted. MARKER_DIR must exist.
"""

import json
import os
import socket
import sys
import time

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

LAPTOP_IP = "100.64.0.2"


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def record_attempt(tag, marker_dir, **extra):
    """Appends this attempt (where it runs, when it started) to MARKER_DIR/TAG.attempts."""
    ctx = ray.get_runtime_context()
    attempt = {
        "tag": tag,
        "host": socket.gethostname(),
        "node_id": ctx.get_node_id(),
        "pid": os.getpid(),
        "started": time.time(),
        **extra,
    }
    with open(os.path.join(marker_dir, tag + ".attempts"), "a") as f:
        f.write(json.dumps(attempt) + "\n")
    return attempt


@ray.remote(num_cpus=1)
def work(tag, secs, marker_dir):
    attempt = record_attempt(tag, marker_dir)
    time.sleep(secs)
    attempt["finished"] = time.time()
    return attempt


@ray.remote(num_cpus=1)
def spawn_then_work(tag, secs, marker_dir):
    import subprocess

    child = subprocess.Popen(["sleep", "600"], start_new_session=True)
    attempt = record_attempt(tag, marker_dir, child_pid=child.pid)
    time.sleep(secs)
    attempt["finished"] = time.time()
    return attempt


def attempts(marker_dir, tag):
    try:
        with open(os.path.join(marker_dir, tag + ".attempts")) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def laptop_node_id():
    for node in ray.nodes():
        if node["NodeManagerAddress"] == LAPTOP_IP and node["Alive"]:
            return node["NodeID"]
    return None


def main():
    marker_dir = sys.argv[1]
    ray.init(address="auto", logging_level="ERROR", log_to_driver=False)
    refs = {}
    say({"ready": True, "laptop_node_id": laptop_node_id()})
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        try:
            if cmd in ("laptop", "spawner"):
                node = laptop_node_id()
                if node is None:
                    say({"error": "no ALIVE laptop node"})
                    continue
                # `laptop` may be retried elsewhere (soft affinity); `spawner` stays and dies
                # with the laptop's worker, which is what its test looks at.
                task, soft, retries = (
                    (work, True, 3) if cmd == "laptop" else (spawn_then_work, False, 0)
                )
                strategy = NodeAffinitySchedulingStrategy(node_id=node, soft=soft)
                refs[args[0]] = task.options(
                    scheduling_strategy=strategy, max_retries=retries
                ).remote(args[0], float(args[1]), marker_dir)
                say({"ok": True, "node_id": node})
            elif cmd == "pin":
                refs[args[0]] = work.options(
                    resources={"node:" + LAPTOP_IP: 0.01}
                ).remote(args[0], float(args[1]), marker_dir)
                say({"ok": True})
            elif cmd == "free":
                refs[args[0]] = work.remote(args[0], float(args[1]), marker_dir)
                say({"ok": True})
            elif cmd == "started":
                deadline = time.time() + float(args[1])
                while not attempts(marker_dir, args[0]) and time.time() < deadline:
                    time.sleep(0.1)
                say({"started": attempts(marker_dir, args[0])})
            elif cmd == "wait":
                try:
                    result = ray.get(refs[args[0]], timeout=float(args[1]))
                    say({"result": result, "attempts": attempts(marker_dir, args[0])})
                except Exception as e:  # noqa: BLE001 - reported to the test
                    say(
                        {
                            "error": type(e).__name__ + ": " + str(e)[:500],
                            "attempts": attempts(marker_dir, args[0]),
                        }
                    )
            elif cmd == "nodes":
                say(
                    {
                        "nodes": [
                            {
                                "node_id": n["NodeID"],
                                "ip": n["NodeManagerAddress"],
                                "alive": n["Alive"],
                            }
                            for n in ray.nodes()
                        ]
                    }
                )
            elif cmd == "quit":
                say({"bye": True})
                return
            else:
                say({"error": "unknown command " + cmd})
        except Exception as e:  # noqa: BLE001 - reported to the test
            say({"error": type(e).__name__ + ": " + str(e)[:500]})


if __name__ == "__main__":
    main()
