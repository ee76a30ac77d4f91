package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.cli.load.LoadResult;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 8, item 1: a rolling restart behind a real nginx. Two {@code lull demo} instances behind
 * one nginx upstream (keep-alive connections to both, passive failover with {@code
 * proxy_next_upstream error timeout http_503}); {@code lull load} sends through nginx while each
 * instance in turn gets SIGTERM (with a drain delay), exits and is started again on its port, 10
 * restarts in all. Not one request may fail.
 *
 * <p>Open-source nginx has no active health checks: it never reads {@code /readyz}. What keeps the
 * count at zero is Lull's graceful stop (in-flight requests complete, responses in lame duck carry
 * {@code Connection: close} so nginx drops those upstream connections, idle ones are closed after a
 * grace) plus nginx's passive failover: a refused connect to the stopped instance, or a reused
 * upstream connection closed before any byte of a response, sends the request to the other
 * instance. The load is mostly streamed responses ({@code /stream}, about 100 ms each), so that
 * dozens are in flight at every SIGTERM: nginx cannot retry a response it already started to
 * forward, and an instance that cut them would show up as failures here (see docs/RELIABILITY.md
 * for a run with SIGKILL instead: hundreds).
 *
 * <p>System properties: {@code lull.reliability.connections} (streaming connections, default 64),
 * {@code lull.reliability.nginx.signal} ({@code TERM}, or {@code KILL} to show what an abrupt stop
 * does; the test then fails).
 */
class NginxRollingRestartTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Pattern COUNT =
      Pattern.compile("^lull_requests_seconds_count\\{[^}]*\\} ([0-9.eE+]+)$", Pattern.MULTILINE);
  private static final int RESTARTS = 10;

  @TempDir Path dir;

  private final List<DemoInstance> started = new ArrayList<>();
  private NginxProcess nginx;

  @AfterEach
  void cleanUp() throws InterruptedException {
    if (nginx != null) nginx.close();
    for (DemoInstance d : started) d.close();
  }

  @Test
  void tenRollingRestartsBehindNginxUnderKeepAliveLoadLoseNoRequest() throws Exception {
    NginxProcess.require();
    int connections = Integer.getInteger("lull.reliability.connections", 64);
    boolean kill = "KILL".equals(System.getProperty("lull.reliability.nginx.signal", "TERM"));
    int[] ports = freePorts(3);
    int front = ports[0];
    int[] upstream = {ports[1], ports[2]};
    DemoInstance[] instances = {null, null};
    // Both at once: half the start-up time.
    List<Thread> starting = new ArrayList<>();
    Throwable[] failure = {null};
    for (int i = 0; i < 2; i++) {
      int n = i;
      starting.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      instances[n] = startInstance(n, 0, upstream[n]);
                    } catch (Throwable e) {
                      failure[0] = e;
                    }
                  }));
    }
    for (Thread t : starting) t.join();
    if (failure[0] != null) throw new AssertionError("an instance did not start", failure[0]);

    nginx = NginxProcess.start(dir.resolve("nginx"), front, httpBlock(front, upstream));
    String base = "http://127.0.0.1:" + front;
    try (BackgroundLoad stream =
            BackgroundLoad.get(
                "stream",
                base + "/stream?chunks=4&interval=25ms",
                connections,
                Duration.ofSeconds(10));
        BackgroundLoad hello =
            BackgroundLoad.get("hello", base + "/", 8, 500, Duration.ofSeconds(10))) {
      long[] servedBefore = new long[2];
      for (int n = 0; n < 2; n++) {
        servedBefore[n] = awaitServed(instances[n], 200, WAIT);
      }
      long start = System.nanoTime();
      List<String> timings = new ArrayList<>();
      for (int r = 1; r <= RESTARTS; r++) {
        int n = (r - 1) % 2;
        DemoInstance old = instances[n];
        long t0 = System.nanoTime();
        if (kill) old.kill();
        else old.terminate();
        int code = old.awaitExit(WAIT);
        long t1 = System.nanoTime();
        if (!kill) {
          assertThat(code).as("exit code of " + old.name()).isZero();
          assertThat(old.log())
              .as(old.name())
              .contains("RUNNING -> DRAINING (signal)")
              .contains("drained")
              .contains("cancelled 0, force-closed 0");
        }
        instances[n] = startInstance(n, r, upstream[n]);
        long t2 = System.nanoTime();
        // nginx takes it back (after fail_timeout) and sends it load: only then the next one
        // may go, or both would be out at once (nginx: "no live upstreams", 502).
        awaitServed(instances[n], 200, WAIT);
        long t3 = System.nanoTime();
        timings.add(
            TimeUnit.NANOSECONDS.toMillis(t1 - t0)
                + "/"
                + TimeUnit.NANOSECONDS.toMillis(t2 - t1)
                + "/"
                + TimeUnit.NANOSECONDS.toMillis(t3 - t2));
      }
      long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      LoadResult s = stream.finish(WAIT);
      LoadResult h = hello.finish(WAIT);
      String errors = nginx.errorLog();
      String report =
          String.format(
              Locale.ROOT,
              "%d rolling restarts behind nginx in %.1fs (ms from SIGTERM to exit / to listening"
                  + " again / until it served 200 requests through nginx: %s);"
                  + " nginx failovers: %d refused connects, %d upstream resets, %d premature"
                  + " closes, %d no live upstreams%n--- /stream over %d connections%n%s--- /"
                  + " at 500/s over 8 connections%n%s",
              RESTARTS,
              took / 1000.0,
              timings,
              count(errors, "(111: Connection refused)"),
              count(errors, "(104: Connection reset by peer)"),
              count(errors, "upstream prematurely closed"),
              count(errors, "no live upstreams"),
              connections,
              s.toText(),
              h.toText());
      System.out.println(report);
      assertThat(s.failed()).as(report).isZero();
      assertThat(h.failed()).as(report).isZero();
      // nginx never closes a client's keep-alive connection here: nothing for lull load to resend
      // (a resend would hide a request that met a closed connection).
      assertThat(s.retried() + h.retried()).as("retried; " + report).isZero();
      // Sane amounts: both runs carried load all along (not a run that stalled at the start).
      assertThat(s.ok()).as(report).isGreaterThan(20L * connections);
      assertThat(h.ok()).as(report).isGreaterThan(1000);
    }
  }

  private DemoInstance startInstance(int n, int generation, int port) throws Exception {
    DemoInstance d =
        DemoInstance.start(
            "instance " + (char) ('a' + n) + generation,
            WAIT,
            "--listen",
            "127.0.0.1:" + port,
            "--admin",
            "127.0.0.1:0",
            "--idle-timeout",
            "0",
            "--drain-delay",
            "500ms",
            "--jobs-dir",
            dir.resolve("jobs-" + n).toString());
    synchronized (started) {
      started.add(d);
    }
    return d;
  }

  private static String httpBlock(int front, int[] upstream) {
    return """
          upstream lull {
            server 127.0.0.1:%d max_fails=1 fail_timeout=1s;
            server 127.0.0.1:%d max_fails=1 fail_timeout=1s;
            keepalive 64;
            keepalive_requests 1000000;
          }
          server {
            listen 127.0.0.1:%d;
            keepalive_requests 1000000;
            location / {
              proxy_pass http://lull;
              proxy_http_version 1.1;
              proxy_set_header Connection "";
              proxy_next_upstream error timeout http_503;
              proxy_connect_timeout 2s;
              proxy_read_timeout 10s;
            }
          }
        """
        .formatted(upstream[0], upstream[1], front);
  }

  /**
   * Polls the instance's admin {@code /metrics} (every 20 ms) until it has served {@code atLeast}
   * requests; returns the count.
   */
  private static long awaitServed(DemoInstance d, long atLeast, Duration timeout) throws Exception {
    InetSocketAddress admin = new InetSocketAddress("127.0.0.1", d.adminPort(timeout));
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      String metrics = DemoProcess.get(admin, "/metrics");
      long served = 0;
      Matcher c = COUNT.matcher(metrics);
      while (c.find()) served += (long) Double.parseDouble(c.group(1));
      if (served >= atLeast) return served;
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError(d.name() + " served " + served + " requests, not " + atLeast);
      }
      d.process().waitFor(20, TimeUnit.MILLISECONDS);
    }
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) n++;
    return n;
  }

  /** Ports free at this instant on 127.0.0.1 (the OS's ephemeral range, so rarely taken soon). */
  static int[] freePorts(int count) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      int[] ports = new int[count];
      for (int i = 0; i < count; i++) {
        ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        sockets.add(s);
        ports[i] = s.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket s : sockets) s.close();
    }
  }
}
