#!/usr/bin/env python3
"""host-agent.py RESULTS QMP_SOCKET HOTPLUG LOG: carry out the guest's
requests to the host while a test guest runs.

A guest suite asks by writing a KTAP comment line to its results console:
    # ktest-host: device_del ID
    # ktest-host: device_add ID
and the agent sends that command to QEMU's QMP monitor, so that a test can
hot-unplug a device, or plug it in again, in step with what it does in the
guest (the guest then waits for the device to go or come). device_add takes
the device's properties from HOTPLUG, the "ID PROPERTIES" lines written by
the QEMU command-line builder (scripts/guest.sh): only those devices can be
added. Every request and QEMU's answer are logged. The caller stops the
agent when QEMU has exited.
"""
import json
import socket
import sys
import time


def read_hotplug(path):
    """{ID: QMP device_add arguments} from "ID driver,key=value,..." lines."""
    devices = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            qemu_id, props = line.split(None, 1)
            driver, *pairs = props.strip().split(",")
            args = {"driver": driver}
            args.update(p.split("=", 1) for p in pairs)
            devices[qemu_id] = args
    return devices


def qmp_command(words, hotplug):
    """The QMP command for a request, or None if it is not allowed."""
    if len(words) != 2:
        return None
    verb, qemu_id = words
    if verb == "device_del":
        return {"execute": "device_del", "arguments": {"id": qemu_id}}
    if verb == "device_add" and qemu_id in hotplug:
        return {"execute": "device_add", "arguments": hotplug[qemu_id]}
    return None


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


def qmp_retrying_add(f, cmd, patience=20):
    """qmp(), but a device_add whose ID QEMU still holds is tried again:
    QEMU finishes a device_del only once the guest has powered the slot off,
    which can come after the guest saw the device go."""
    deadline = time.time() + patience
    while True:
        answer = qmp(f, cmd)
        desc = answer.get("error", {}).get("desc", "")
        if (cmd["execute"] != "device_add" or "Duplicate device ID" not in desc
                or time.time() > deadline):
            return answer
        time.sleep(0.5)


def main():
    results, sock, hotplug_file, logname = sys.argv[1:5]
    log = open(logname, "a", buffering=1)
    hotplug = read_hotplug(hotplug_file)
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
            cmd = qmp_command(words, hotplug)
            if cmd is None:
                log.write(f"refused request: {line}\n")
                continue
            try:
                answer = qmp_retrying_add(f, cmd)
            except (OSError, EOFError) as e:
                log.write(f"{line}: {e}\n")
                return 0
            log.write(f"{time.strftime('%H:%M:%S')} {' '.join(words)}: {json.dumps(answer)}\n")
        done = len(lines)
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
