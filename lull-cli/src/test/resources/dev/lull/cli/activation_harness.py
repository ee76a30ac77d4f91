#!/usr/bin/env python3
"""Socket-activation harness for Lull's tests: what a systemd .socket unit does.

It holds listening sockets for its whole life. Whenever a connection is waiting on one of them and
no child runs, it starts COMMAND as a child with the sockets as fds 3, 4, ... and LISTEN_FDS,
LISTEN_PID (the child's own pid, set between fork and exec) and LISTEN_FDNAMES in its environment,
waits for it to exit, reports the exit code, and starts a new child on the next waiting connection.
systemd-socket-activate cannot do this: it execs the command once and its sockets die with it.

Usage: activation_harness.py --log-dir DIR [--socket KIND:NAME[=ADDRESS]]... [--setenv K=V]...
           [--unsetenv K]... [--eager] [--max-activations N] [--stop-timeout SECONDS] -- COMMAND...
  KIND is tcp (ADDRESS HOST:PORT, default 127.0.0.1:0), unix (ADDRESS a path), and, to pass what
  systemd would never pass, udp (HOST:PORT), tcp-unlistening (bound, not listening) and pipe (the
  read end of a pipe). The fds follow the order of --socket.
  --eager starts the first child at once instead of on the first connection.
  --setenv and --unsetenv apply after LISTEN_*, so they can override them (LISTEN_PID=1).
  The sockets are blocking, as systemd passes them unless NonBlocking=yes.

Events, one per line on stdout:
  SOCKET NAME KIND ADDRESS     once per socket (tcp: the real port; unix: the path)
  READY                        the sockets are listening
  START N PID                  activation N (from 1) started child PID
  EXIT N PID CODE              it exited; CODE is the exit status, or -SIGNAL if a signal killed it
  LIMIT                        --max-activations reached: no further children
  BYE                          shutting down
Each child's stdout and stderr go to DIR/child-N.log; stdin is /dev/null.
End of input on stdin, SIGTERM or SIGINT: SIGTERM the child, SIGKILL it after --stop-timeout,
close the sockets, remove the Unix socket files, exit 0.
"""

import argparse
import fcntl
import os
import select
import signal
import socket
import sys
import time


class Stop(Exception):
    pass


def on_signal(signum, frame):
    raise Stop()


def emit(*words):
    print(*words, flush=True)


def host_port(text, default):
    text = text or default
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def open_socket(spec):
    kind, _, rest = spec.partition(":")
    name, _, address = rest.partition("=")
    if not name:
        raise SystemExit("socket without a name: " + spec)
    if kind in ("tcp", "udp", "tcp-unlistening"):
        host, port = host_port(address, "127.0.0.1:0")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        stype = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
        s = socket.socket(family, stype)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        if kind == "tcp":
            s.listen(128)
        bound = s.getsockname()
        shown = "[%s]:%d" % bound[:2] if family == socket.AF_INET6 else "%s:%d" % bound[:2]
        return dict(name=name, kind=kind, fd=s.fileno(), obj=s, address=shown, accepts=kind == "tcp")
    if kind == "unix":
        if not address:
            raise SystemExit("unix socket without a path: " + spec)
        if os.path.exists(address):
            os.unlink(address)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(address)
        s.listen(128)
        return dict(name=name, kind=kind, fd=s.fileno(), obj=s, address=address, accepts=True, path=address)
    if kind == "pipe":
        r, w = os.pipe()
        return dict(name=name, kind=kind, fd=r, obj=None, address="-", accepts=False, write_end=w)
    raise SystemExit("unknown socket kind: " + spec)


def spawn(number, sockets, command, env_changes, log_dir):
    log_path = os.path.join(log_dir, "child-%d.log" % number)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    pid = os.fork()
    if pid != 0:
        os.close(log_fd)
        return pid
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        # Move every fd above the target range first, so that placing one cannot clobber another.
        high = [fcntl.fcntl(s["fd"], fcntl.F_DUPFD, 1000) for s in sockets]
        for i, fd in enumerate(high):
            os.dup2(fd, 3 + i)
            os.set_inheritable(3 + i, True)  # dup2 onto itself would keep close-on-exec
        os.closerange(3 + len(sockets), 65536)
        env = dict(os.environ)
        env["LISTEN_FDS"] = str(len(sockets))
        env["LISTEN_PID"] = str(os.getpid())
        env["LISTEN_FDNAMES"] = ":".join(s["name"] for s in sockets)
        for key, value in env_changes:
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        os.execvpe(command[0], command, env)
    except BaseException as e:  # never return into the harness's loop in the child
        try:
            os.write(2, ("harness: cannot start %s: %s\n" % (command[0], e)).encode())
        finally:
            os._exit(127)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", action="append", default=[])
    p.add_argument("--setenv", action="append", default=[])
    p.add_argument("--unsetenv", action="append", default=[])
    p.add_argument("--eager", action="store_true")
    p.add_argument("--max-activations", type=int, default=50)
    p.add_argument("--stop-timeout", type=float, default=10.0)
    p.add_argument("--log-dir", required=True)
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise SystemExit("no command")
    env_changes = [tuple(kv.split("=", 1)) for kv in args.setenv] + [(k, None) for k in args.unsetenv]

    if not hasattr(os, "pidfd_open"):
        raise SystemExit("activation_harness.py needs Python 3.9+ on Linux 5.3+ (os.pidfd_open)")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sockets = [open_socket(spec) for spec in args.socket]
    for s in sockets:
        emit("SOCKET", s["name"], s["kind"], s["address"])
    emit("READY")

    child = None  # (number, pid, pidfd)
    started = 0
    stdin_open = True
    try:
        def activate():
            nonlocal started
            started += 1
            pid = spawn(started, sockets, command, env_changes, args.log_dir)
            emit("START", started, pid)
            if started == args.max_activations:
                emit("LIMIT")
            return (started, pid, os.pidfd_open(pid))

        if args.eager:
            child = activate()
        while stdin_open:
            if child is None:
                waiting = [s["obj"] for s in sockets if s["accepts"]] if started < args.max_activations else []
                ready, _, _ = select.select([sys.stdin] + waiting, [], [])
                if sys.stdin in ready:
                    stdin_open = bool(os.read(sys.stdin.fileno(), 4096))
                    continue
                child = activate()
            else:
                number, pid, pidfd = child
                ready, _, _ = select.select([sys.stdin, pidfd], [], [])
                if pidfd in ready:
                    _, status = os.waitpid(pid, 0)
                    os.close(pidfd)
                    child = None
                    emit("EXIT", number, pid, os.waitstatus_to_exitcode(status))
                if sys.stdin in ready:
                    stdin_open = bool(os.read(sys.stdin.fileno(), 4096))
    except Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        emit("BYE")
        if child is not None:
            number, pid, pidfd = child
            try:
                os.kill(pid, signal.SIGTERM)
                if not select.select([pidfd], [], [], args.stop_timeout)[0]:
                    os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                emit("EXIT", number, pid, os.waitstatus_to_exitcode(status))
            except ProcessLookupError:
                pass
        for s in sockets:
            if s["obj"] is not None:
                s["obj"].close()
            if s.get("path") and os.path.exists(s["path"]):
                os.unlink(s["path"])


if __name__ == "__main__":
    main()
