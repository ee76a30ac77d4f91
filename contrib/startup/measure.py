#!/usr/bin/env python3
"""Start-up, memory and stop figures for docs/STARTUP.md, measured in one run, interleaved.

  contrib/startup/measure.py coldstart [--rounds 5] [--netty JAR] [--httpserver DIR] [--aot-dir DIR]
  contrib/startup/measure.py sigterm   [--rounds 5]
  contrib/startup/measure.py rss       [--load-seconds 10] [--conns 256] [--httpserver DIR]

coldstart: the time from "the client connects" to "the client has read the whole first response".
  lull:  systemd-socket-activate -l 127.0.0.1:PORT ./lull demo (the launcher; its AOT cache if the
         JDK has one), the client connects to systemd-socket-activate's socket, which execs the
         launcher on that first connection (true socket activation: the connection waits in the
         backlog while the JVM starts).
  netty / netty+aot / httpserver: peers that cannot adopt a socket; they are spawned and the client
         retries connect() every 0.5 ms, timed from the spawn. Same JVM flags as the launcher.
  floor: `java -version` (JVM start and exit, nothing loaded).
sigterm: `./lull demo` idle; time from kill -TERM to the process reaped.
rss:   idle RSS (VmRSS, after the first request and 2 s of quiet) and RSS after a load, for
       `./lull demo` and the JDK HttpServer hello (if --httpserver), with `wrk` if installed, else
       `./lull load`.
Prints medians with every round listed. Stdlib only; Linux.
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LULL = os.path.join(ROOT, "lull")
LAUNCHER_FLAGS = ["-XX:+UseSerialGC", "-Xms16m", "-Xmx256m", "-XX:CompileThresholdScaling=10",
                  "-Dio.netty.jfr.enabled=false", "--enable-native-access=ALL-UNNAMED"]
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def java_home():
    return subprocess.check_output([LULL, "java-home"], text=True).strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_all(sock):
    chunks = []
    while True:
        b = sock.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def wait_listening(port, deadline):
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.005)
    raise RuntimeError("port %d never listened" % port)


def first_response_activated(cmd, port, env, log):
    """systemd-socket-activate: connect first, then the server is exec'd; returns seconds."""
    # systemd-socket-activate gives the command a clean environment but for -E.
    passed = []
    for k in ("JAVA_HOME", "PATH", "HOME", "LULL_JAVA_OPTS", "LULL_AOT", "LULL_AOT_DIR"):
        if k in env:
            passed += ["-E", "%s=%s" % (k, env[k])]
    p = subprocess.Popen(["systemd-socket-activate", "-l", "127.0.0.1:%d" % port] + passed + cmd,
                         env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        wait_listening_quiet(port)
        s = socket.socket()
        t0 = time.monotonic()
        s.connect(("127.0.0.1", port))
        s.sendall(REQUEST)
        body = read_all(s)
        t1 = time.monotonic()
        LAST_CPU[0] = cpu_seconds(p.pid, children=True)
        s.close()
        if not body.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("bad response: %r" % body[:80])
        return t1 - t0
    finally:
        stop(p)


LAST_CPU = [0.0]


def wait_listening_quiet(port, timeout=10):
    """systemd-socket-activate binds before it waits; find the socket without connecting to it."""
    deadline = time.monotonic() + timeout
    needle = ":%04X" % port
    while time.monotonic() < deadline:
        with open("/proc/net/tcp") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 3 and parts[1].endswith(needle) and parts[3] == "0A":
                    return
        time.sleep(0.005)
    raise RuntimeError("systemd-socket-activate did not listen on %d" % port)


def first_response_spawned(cmd, port, env, log):
    """Spawn, then retry connect until it works; returns seconds from the spawn."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = t0 + 30
        while True:
            s = socket.socket()
            try:
                s.connect(("127.0.0.1", port))
                break
            except ConnectionRefusedError:
                s.close()
                if time.monotonic() > deadline or p.poll() is not None:
                    raise RuntimeError("server did not listen: %s" % cmd)
                time.sleep(0.0005)
        s.sendall(REQUEST)
        body = read_all(s)
        t1 = time.monotonic()
        LAST_CPU[0] = cpu_seconds(p.pid, children=True)
        s.close()
        if b" 200 " not in body.split(b"\r\n", 1)[0]:
            raise RuntimeError("bad response: %r" % body[:80])
        return t1 - t0
    finally:
        stop(p)


def stop(p):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def timed(cmd, env):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    return elapsed


def median_line(name, xs, unit="ms", scale=1000.0):
    vals = [x * scale for x in xs]
    return "%-22s median %8.1f %s   rounds: %s" % (
        name, statistics.median(vals), unit, ", ".join("%.1f" % v for v in vals))


def coldstart(args):
    jh = java_home()
    java = os.path.join(jh, "bin", "java")
    env = dict(os.environ)
    env["JAVA_HOME"] = jh
    jobs = tempfile.mkdtemp(prefix="lull-coldstart-jobs-")
    demo_args = ["--idle-timeout", "0", "--jobs-dir", jobs] + args.demo_args.split()
    subjects = {"floor": lambda log: timed([java, "-version"], env)}
    lull_env = dict(env)
    if args.lull_java_opts:
        lull_env["LULL_JAVA_OPTS"] = args.lull_java_opts
    subjects["lull"] = lambda log: first_response_activated(
        [LULL, "demo"] + demo_args, free_port_local(), lull_env, log)
    if args.lull_b_java_opts:
        b_env = dict(env)
        b_env["LULL_JAVA_OPTS"] = args.lull_b_java_opts
        subjects["lull-b"] = lambda log: first_response_activated(
            [LULL, "demo"] + demo_args, free_port_local(), b_env, log)
    if args.lull_noaot:
        noaot = dict(lull_env)
        noaot["LULL_AOT"] = "0"
        subjects["lull-noaot"] = lambda log: first_response_activated(
            [LULL, "demo"] + demo_args, free_port_local(), noaot, log)
    if args.netty:
        aot = os.path.join(args.aot_dir, "netty-hello.aot")
        if not os.path.exists(aot):
            train_netty(java, args.netty, aot, env)

        def netty(log, with_aot):
            port = free_port()
            extra = ["-XX:AOTCache=" + aot] if with_aot else []
            return first_response_spawned(
                [java] + LAUNCHER_FLAGS + extra + ["-jar", args.netty, str(port), "127.0.0.1"],
                port, env, log)
        subjects["netty"] = lambda log: netty(log, False)
        subjects["netty+aot"] = lambda log: netty(log, True)
    if args.httpserver:
        def hs(log):
            port = free_port()
            return first_response_spawned(
                [java] + LAUNCHER_FLAGS + ["-cp", args.httpserver, "Hello", str(port)],
                port, env, log)
        subjects["httpserver"] = hs
    results = {k: [] for k in subjects}
    cpus = {k: [] for k in subjects}
    with open(os.path.join(tempfile.gettempdir(), "lull-coldstart.log"), "ab") as log:
        # One untimed round first: the page cache, the AOT cache files, the launcher's build check.
        for fn in subjects.values():
            fn(log)
        names = list(subjects)
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                results[name].append(subjects[name](log))
                cpus[name].append(LAST_CPU[0])
    print("first response (connect -> whole response), %d rounds, load %s;" % (
        args.rounds, open("/proc/loadavg").read().split()[:3]))
    print("cpu: CPU time the server process (and the launcher's children) had used by then")
    for name in subjects:
        print(median_line(name, results[name]))
    for name in subjects:
        print(median_line(name + " cpu", cpus[name]))
    shutil.rmtree(jobs, ignore_errors=True)


def free_port_local():
    return free_port()


def train_netty(java, jar, aot, env):
    os.makedirs(os.path.dirname(aot), exist_ok=True)
    port = free_port()
    p = subprocess.Popen([java] + LAUNCHER_FLAGS + ["-XX:AOTCacheOutput=" + aot, "-jar", jar,
                                                   str(port), "127.0.0.1"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, time.monotonic() + 30)
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(REQUEST)
            read_all(s)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(60)


def sigterm(args):
    jh = java_home()
    java = os.path.join(jh, "bin", "java")
    env = dict(os.environ)
    env["JAVA_HOME"] = jh
    if args.lull_java_opts:
        env["LULL_JAVA_OPTS"] = args.lull_java_opts
    jobs = tempfile.mkdtemp(prefix="lull-sigterm-jobs-")
    subjects = {"lull": lambda port: [LULL, "demo", "--listen", "127.0.0.1:%d" % port,
                                      "--idle-timeout", "0", "--jobs-dir", jobs]
                + args.demo_args.split()}
    if args.httpserver:
        subjects["httpserver"] = lambda port: [java] + LAUNCHER_FLAGS + [
            "-cp", args.httpserver, "Hello", str(port)]
    if args.netty:
        subjects["netty"] = lambda port: [java] + LAUNCHER_FLAGS + [
            "-jar", args.netty, str(port), "127.0.0.1"]
    times = {k: [] for k in subjects}
    cpu = {k: [] for k in subjects}
    names = list(subjects)
    for r in range(args.rounds + 1):
        for name in names[r % len(names):] + names[:r % len(names)]:
            port = free_port()
            p = subprocess.Popen(subjects[name](port), env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            wait_listening(port, time.monotonic() + 30)
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(REQUEST)
                read_all(s)
            time.sleep(args.idle_seconds)  # idle: no connection, nothing in flight
            before = cpu_seconds(p.pid)
            t0 = time.monotonic()
            p.send_signal(signal.SIGTERM)
            # A blocking wait: Popen.wait(timeout) polls with sleeps of up to 50 ms.
            _, status, usage = os.wait4(p.pid, 0)
            elapsed = time.monotonic() - t0
            p.returncode = os.waitstatus_to_exitcode(status)
            if r > 0:  # the first round warms the page cache
                times[name].append(elapsed)
                cpu[name].append(usage.ru_utime + usage.ru_stime - before)
    shutil.rmtree(jobs, ignore_errors=True)
    print("SIGTERM -> reaped, idle, %d rounds, load %s (cpu: CPU time the process used meanwhile)" % (
        args.rounds, open("/proc/loadavg").read().split()[:3]))
    for name in names:
        print(median_line(name, times[name]))
        print(median_line(name + " cpu", cpu[name]))


def cpu_seconds(pid, children=False):
    """utime + stime of a live process (and of its waited-for children), from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss(args):
    jh = java_home()
    java = os.path.join(jh, "bin", "java")
    env = dict(os.environ)
    env["JAVA_HOME"] = jh
    jobs = tempfile.mkdtemp(prefix="lull-rss-jobs-")
    servers = []
    lull_env = dict(env)
    if args.lull_java_opts:
        lull_env["LULL_JAVA_OPTS"] = args.lull_java_opts
    servers.append(("lull", lambda port: subprocess.Popen(
        [LULL, "demo", "--listen", "127.0.0.1:%d" % port, "--idle-timeout", "0", "--jobs-dir",
         jobs] + args.demo_args.split(), env=lull_env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)))
    if args.httpserver:
        servers.append(("httpserver", lambda port: subprocess.Popen(
            [java] + LAUNCHER_FLAGS + ["-cp", args.httpserver, "Hello", str(port)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    if args.netty:
        servers.append(("netty", lambda port: subprocess.Popen(
            [java] + LAUNCHER_FLAGS + ["-jar", args.netty, str(port), "127.0.0.1"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    print("RSS (VmRSS), load %s" % open("/proc/loadavg").read().split()[:3])
    for name, start in servers:
        port = free_port()
        p = start(port)
        try:
            wait_listening(port, time.monotonic() + 30)
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(REQUEST)
                read_all(s)
            time.sleep(2)
            idle = rss_kib(p.pid)
            idle_anon = rss_kib(p.pid, "RssAnon")
            url = "http://127.0.0.1:%d/" % port
            if shutil.which("wrk"):
                cmd = ["wrk", "-t1", "-c%d" % args.conns, "-d%ds" % args.load_seconds, url]
            else:
                cmd = [LULL, "load", "-c", str(args.conns), "-d", "%ds" % args.load_seconds, url]
            peak = 0
            lp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            while lp.poll() is None:
                peak = max(peak, rss_kib(p.pid))
                time.sleep(0.2)
            out = lp.stdout.read()
            rate = [line for line in out.splitlines() if "Requests/sec" in line]
            after = rss_kib(p.pid)
            time.sleep(args.settle)
            settled = rss_kib(p.pid)
            print("%-12s idle %6.1f MiB (anon %5.1f)   peak under load %6.1f MiB   after load"
                  " %6.1f MiB   %ds later %6.1f MiB   %s" % (
                      name, idle / 1024, idle_anon / 1024, peak / 1024, after / 1024,
                      args.settle, settled / 1024, rate[0].strip() if rate else ""))
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    shutil.rmtree(jobs, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", choices=["coldstart", "sigterm", "rss"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--netty", help="bench/peers/netty-hello/target/netty-hello.jar")
    ap.add_argument("--httpserver", help="a directory holding Hello.class (JDK HttpServer hello)")
    ap.add_argument("--aot-dir", default=os.path.join(tempfile.gettempdir(), "lull-measure-aot"))
    ap.add_argument("--lull-java-opts", default="", help="LULL_JAVA_OPTS for ./lull")
    ap.add_argument("--lull-noaot", action="store_true", help="also run ./lull with LULL_AOT=0")
    ap.add_argument("--lull-b-java-opts", default="",
                    help="coldstart: also run ./lull with these LULL_JAVA_OPTS (lull-b); run"
                         " `LULL_JAVA_OPTS=... ./lull aot` first so that it has its AOT cache")
    ap.add_argument("--demo-args", default="", help="extra flags for lull demo")
    ap.add_argument("--load-seconds", type=int, default=10)
    ap.add_argument("--conns", type=int, default=256)
    ap.add_argument("--settle", type=int, default=5, help="seconds after the load before RSS")
    ap.add_argument("--idle-seconds", type=float, default=3.0, help="sigterm: idle time first")
    args = ap.parse_args()
    {"coldstart": coldstart, "sigterm": sigterm, "rss": rss}[args.what](args)


if __name__ == "__main__":
    main()
