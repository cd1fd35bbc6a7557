#!/usr/bin/env python3
"""host-agent.py RESULTS QMP_SOCKET LOG: carry out the guest's requests to
the host while a test guest runs.

A guest suite asks by writing a KTAP comment line to its results console:
    # ktest-host: device_del ID
and the agent sends that command to QEMU's QMP monitor, so that a test can
hot-unplug a device in step with what it does in the guest (the guest then
waits for the device to go). Every request and QEMU's answer are logged.
The caller stops the agent when QEMU has exited.
"""
import json
import socket
import sys
import time

ALLOWED = {"device_del": "id"}


def qmp_connect(path, deadline):
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    f = s.makefile("rw")
    json.loads(f.readline())  # greeting
    qmp(f, {"execute": "qmp_capabilities"})
    return s, f


def qmp(f, cmd):
    f.write(json.dumps(cmd) + "\n")
    f.flush()
    while True:
        line = f.readline()
        if not line:
            raise EOFError("QEMU closed the monitor")
        msg = json.loads(line)
        if "return" in msg or "error" in msg:
            return msg


def main():
    results, sock, logname = sys.argv[1:4]
    log = open(logname, "a", buffering=1)
    try:
        s, f = qmp_connect(sock, time.time() + 30)
    except OSError as e:
        log.write(f"cannot reach QEMU's monitor at {sock}: {e}\n")
        return 1
    done = 0
    while True:
        try:
            with open(results) as r:
                lines = r.read().splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines[done:]:
            if not line.startswith("# ktest-host: "):
                continue
            words = line.split()[2:]
            if len(words) != 2 or words[0] not in ALLOWED:
                log.write(f"refused request: {line}\n")
                continue
            cmd = {"execute": words[0], "arguments": {ALLOWED[words[0]]: words[1]}}
            try:
                answer = qmp(f, cmd)
            except (OSError, EOFError) as e:
                log.write(f"{line}: {e}\n")
                return 0
            log.write(f"{time.strftime('%H:%M:%S')} {' '.join(words)}: {json.dumps(answer)}\n")
        done = len(lines)
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
