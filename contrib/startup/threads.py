#!/usr/bin/env python3
"""Where a socket-activated start spends its CPU, by thread (docs/STARTUP.md).

  contrib/startup/threads.py ROUNDS -- CMD...

Starts CMD under systemd-socket-activate ROUNDS + 1 times (the first is not counted), reads the
first response, then sums each live thread's CPU time from /proc/PID/task/TID/schedstat, grouped
by thread name (digits stripped: "C1 CompilerThre", "lull-io", ...), and prints medians. Threads
that ended before the response (the JVM's start-up helpers, lull-warmup) are not seen. Example:

  contrib/startup/threads.py 5 -- env LULL_JAVA_OPTS= ./lull demo --listen systemd --jobs-dir /tmp/t
"""
import collections
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import lifecycle  # noqa: E402


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        sys.exit(__doc__)
    rounds, cmd = int(argv[0]), argv[2:]
    per_thread = collections.defaultdict(list)
    for r in range(rounds + 1):
        port = lifecycle.free_port()
        log = os.path.join(tempfile.gettempdir(), "lull-threads.log")
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                ["systemd-socket-activate", "-l", "127.0.0.1:%d" % port, "--"] + cmd,
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            lifecycle.wait_listening(log, proc, time.perf_counter() + 10)
            t0 = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(lifecycle.REQUEST)
                lifecycle.read_response(s, time.perf_counter() + 30)
            wall = (time.perf_counter() - t0) * 1000
            cpu = collections.Counter()
            for tid in os.listdir("/proc/%d/task" % proc.pid):
                try:
                    with open("/proc/%d/task/%s/comm" % (proc.pid, tid)) as f:
                        name = f.read().strip().rstrip("0123456789-")
                    with open("/proc/%d/task/%s/schedstat" % (proc.pid, tid)) as f:
                        cpu[name] += int(f.read().split()[0]) / 1e6
                except (FileNotFoundError, ProcessLookupError):
                    pass
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait()
        if r == 0:
            continue
        per_thread["(first response, wall)"].append(wall)
        for name, ms in cpu.items():
            per_thread[name].append(ms)
    for name, v in sorted(per_thread.items(), key=lambda kv: -statistics.median(kv[1])):
        print("%8.1f ms  %s" % (statistics.median(v), name))


if __name__ == "__main__":
    main(sys.argv[1:])
