#!/usr/bin/env python3
"""Process-lifecycle measurements for bench/run.sh: cold start under socket activation, idle RSS,
SIGTERM-to-exit, and the time of a plain command (the JVM floor, `java -version`).

  lifecycle.py cold LOG [--idle S] [--train N] [--timeout S] -- CMD...
      Starts `systemd-socket-activate -l 127.0.0.1:PORT -- CMD` (a free port), waits until it
      listens (it starts CMD on the first connection, in its own process: CMD inherits the socket
      as fd 3 with LISTEN_FDS=1), then t0: connect, send GET /, read the whole response (by its
      Content-Length); first = t_response - t0. With --train N, N more requests on 2 keep-alive
      connections (an AOT training run). Then waits --idle seconds with no connection open, reads
      VmRSS of the process, sends SIGTERM and times until the process is reaped. Prints one line:
      first_ms <TAB> rss_kib <TAB> term_ms <TAB> exit_code <TAB> cpu_ms (CPU time of the
      server's threads when the first response had arrived: steadier than the wall time).
  lifecycle.py run -- CMD...
      Prints the milliseconds from spawning CMD to reaping it (CMD's output goes to /dev/null).

All times are from time.perf_counter(); python's own start-up is outside every measurement.
"""

import os
import select
import signal
import socket
import subprocess
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: lull-bench\r\n\r\n"


def die(msg):
    print("lifecycle.py: " + msg, file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_response(sock, deadline):
    """Reads one HTTP/1.1 response with a Content-Length body; returns (status line, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        sock.settimeout(max(0.001, deadline - time.perf_counter()))
        chunk = sock.recv(65536)
        if not chunk:
            raise IOError("connection closed before the response head: %r" % buf[:200])
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        raise IOError("response without Content-Length: %s" % lines[0])
    while len(rest) < length:
        sock.settimeout(max(0.001, deadline - time.perf_counter()))
        chunk = sock.recv(65536)
        if not chunk:
            raise IOError("connection closed in the body")
        rest += chunk
    return lines[0], rest[:length]


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def cpu_ms(pid):
    """CPU time (ms) the live threads of pid have used, from their schedstat (nanoseconds; the
    clock-tick figures of /proc/PID/stat are 10 ms coarse). Threads that already ended are not
    counted; before the first response that is a few short-lived helper threads."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / 1e6


def wait_listening(log, proc, deadline):
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            die("systemd-socket-activate exited with %s (log: %s)" % (proc.returncode, log))
        with open(log, "rb") as f:
            if b"Listening on" in f.read():
                return
        time.sleep(0.001)
    die("systemd-socket-activate did not listen in time (log: %s)" % log)


def wait_exact(proc, timeout):
    """Waits for proc to end and returns its exit code, waking the moment it does: Popen.wait with
    a timeout polls with growing sleeps (0.5 ms doubling to 50 ms), which rounds a 20 ms exit up to
    about 31 ms. A pidfd becomes readable when the process ends (Linux 5.3+)."""
    fd = os.pidfd_open(proc.pid)
    try:
        if not select.select([fd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        os.close(fd)
    return proc.wait()


def stop(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def cold(argv):
    idle, train, timeout = 1.0, 0, 60.0
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--idle":
            idle = float(argv.pop(0))
        elif opt == "--train":
            train = int(argv.pop(0))
        elif opt == "--timeout":
            timeout = float(argv.pop(0))
        elif opt.startswith("--"):
            die("unknown option " + opt)
        else:
            log = opt
    if not argv or argv[0] != "--" or len(argv) < 2:
        die("usage: lifecycle.py cold LOG [--idle S] [--train N] [--timeout S] -- CMD...")
    cmd = argv[1:]
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["systemd-socket-activate", "-l", "127.0.0.1:%d" % port, "--"] + cmd,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.perf_counter() + timeout
        wait_listening(log, proc, time.perf_counter() + 10)
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(REQUEST)
            status, _ = read_response(s, deadline)
            t1 = time.perf_counter()
            cpu_first = cpu_ms(proc.pid)
        if " 200" not in status:
            die("first response was %r (log: %s)" % (status, log))
        if train:
            conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
            try:
                for i in range(train):
                    c = conns[i % 2]
                    c.sendall(REQUEST)
                    read_response(c, deadline + 60)
            finally:
                for c in conns:
                    c.close()
        time.sleep(idle)
        if proc.poll() is not None:
            die("the server exited on its own with %s (log: %s)" % (proc.returncode, log))
        rss = vm_rss_kib(proc.pid)
        t2 = time.perf_counter()
        os.kill(proc.pid, signal.SIGTERM)
        # An AOT training run writes its cache at exit, which takes seconds.
        code = wait_exact(proc, 300 if train else 60)
        t3 = time.perf_counter()
    except BaseException:
        stop(proc)
        raise
    print("%.2f\t%d\t%.2f\t%d\t%.1f" % ((t1 - t0) * 1000, rss, (t3 - t2) * 1000, code, cpu_first))


def run(argv):
    if not argv or argv[0] != "--" or len(argv) < 2:
        die("usage: lifecycle.py run -- CMD...")
    t0 = time.perf_counter()
    code = subprocess.call(argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    t1 = time.perf_counter()
    if code != 0:
        die("%s exited with %d" % (" ".join(argv[1:]), code))
    print("%.2f" % ((t1 - t0) * 1000))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("cold", "run"):
        die("usage: lifecycle.py cold|run ... (see the file's doc)")
    (cold if sys.argv[1] == "cold" else run)(sys.argv[2:])
