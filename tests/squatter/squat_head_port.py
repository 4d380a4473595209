"""Another local user's squatter: watches every command line for a `ray start --head` with
`--port=N`, binds 127.0.0.1:N first and records what any client sends there.

Usage: squat_head_port.py OUT_FILE SECONDS (run as another user, e.g. `nobody`).
"""
import os
import socket
import sys
import time

out, seconds = sys.argv[1], float(sys.argv[2])
deadline = time.time() + seconds


def note(line):
    with open(out, "a") as f:
        f.write(line + "\n")


def head_port():
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"--head" in args:
            for arg in args:
                if arg.startswith(b"--port="):
                    return int(arg[len(b"--port="):])
    return None


listener = None
while listener is None and time.time() < deadline:
    port = head_port()
    if port is not None:
        try:
            candidate = socket.socket()
            candidate.bind(("127.0.0.1", port))
            candidate.listen(64)
            listener = candidate
            note(f"bound {port}")
        except OSError as e:
            note(f"could not bind {port}: {e}")
            sys.exit(0)
    time.sleep(0.005)

while listener is not None and time.time() < deadline:
    listener.settimeout(max(0.1, deadline - time.time()))
    try:
        client, _ = listener.accept()
    except OSError:
        break
    client.settimeout(2)
    try:
        data = client.recv(65536)
    except OSError:
        data = b""
    note("received " + data.hex())
    client.close()
