#!/usr/bin/env python3
"""A Ray driver for the benches, run beside the head's raylet.

  driver.py hello          one task on the worker node (the head has 0 CPUs): prints the node
                           IP it ran on and a line from the task, which reaches this driver
                           only through the worker's log monitor
  driver.py errands MB N   what a user of the worker's node waits for: a task there reads an
                           MB-megabyte object put by this driver (`fetch_secs`, the object
                           crossing to the node), then N tiny tasks there one after another
                           (`serial_task_ms`, each a lease and a reply) and N at once
                           (`burst_secs`)
  driver.py load N SECS    N CPU-bound tasks (1 CPU each, a busy loop for SECS): prints
                           `load started` once all N are running, then waits for them
"""
import sys
import time

import ray

# The head's raylet is at 127.0.0.1 (Ray would otherwise guess the address from the hostname).
ray.init(address="127.0.0.1:6379", _node_ip_address="127.0.0.1", log_to_driver=True)


@ray.remote(num_cpus=1)
def hello():
    print("btw-bench: hello from the worker's task", flush=True)
    return ray.util.get_node_ip_address()




@ray.remote(num_cpus=1)
def size(blob):
    return len(blob)


@ray.remote(num_cpus=1)
def nothing():
    return None


@ray.remote(num_cpus=1)
def spin(secs):
    end = time.monotonic() + secs
    n = 0
    while time.monotonic() < end:
        for _ in range(10000):
            n += 1
    return n


if sys.argv[1] == "hello":
    ip = ray.get(hello.remote(), timeout=120)
    print(f"task ran on {ip}", flush=True)
    time.sleep(3)  # the log line travels file -> log monitor -> GCS -> here
elif sys.argv[1] == "errands":
    mb, n = int(sys.argv[2]), int(sys.argv[3])
    ray.get(nothing.remote(), timeout=120)  # a worker process is up on the node
    blob = ray.put(b"x" * (mb << 20))
    start = time.monotonic()
    assert ray.get(size.remote(blob), timeout=120) == mb << 20
    print(f"fetch_secs: {time.monotonic() - start:.3f}", flush=True)
    start = time.monotonic()
    for _ in range(n):
        ray.get(nothing.remote(), timeout=120)
    print(f"serial_task_ms: {(time.monotonic() - start) * 1000 / n:.1f}", flush=True)
    start = time.monotonic()
    ray.get([nothing.remote() for _ in range(n)], timeout=300)
    print(f"burst_secs: {time.monotonic() - start:.3f}", flush=True)
elif sys.argv[1] == "load":
    n, secs = int(sys.argv[2]), float(sys.argv[3])
    refs = [spin.remote(secs) for _ in range(n)]
    # All running: the worker node's CPUs are all taken.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        avail = ray.available_resources().get("CPU", 0)
        if avail == 0:
            break
        time.sleep(0.2)
    print("load started", flush=True)
    ray.get(refs)
    print("load done", flush=True)
