"""Another local user's squatter: watches every command line for a `ray start --head` with
`--port=N`, binds 127.0.0.1:N first and records what any client sends there.

Usage: squat_head_port.py OUT_FILE SECONDS [wait PORT] (run as another user, e.g. `nobody`).
With `wait PORT`, the head's port read off its command line beforehand, it is tried again until
the head lets it go (several heads may run, another test's among them).
"""
import os
import socket
import sys
import time

out, seconds = sys.argv[1], float(sys.argv[2])
wait = sys.argv[3:4] == ["wait"]
port = int(sys.argv[4]) if wait else None
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
    if not wait:
        port = head_port()
    if port is not None:
        try:
            candidate = socket.socket()
            if wait:
                # The dead head's connections linger in TIME_WAIT on the port.
                candidate.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            candidate.bind(("127.0.0.1", port))
            candidate.listen(64)
            listener = candidate
            note(f"bound {port}")
        except OSError as e:
            candidate.close()
            if not wait:
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
