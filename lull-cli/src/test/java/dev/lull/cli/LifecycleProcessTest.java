package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.cli.ActivationHarness.Activation;
import dev.lull.cli.load.LoadResult;
import dev.lull.cli.load.LoadRunner;
import dev.lull.cli.load.LoadSpec;
import dev.lull.cli.load.Target;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lifecycle of {@code lull demo} as real processes under {@link ActivationHarness} (what a
 * systemd socket unit does): idle exit and re-activation, SIGTERM during a request, stop and kill
 * timeouts, a second SIGTERM, steady keep-alive load across five stops and re-activations, a
 * connection that sends nothing, and a hijacked connection. Issue 3, "Done means" (a) to (g).
 */
class LifecycleProcessTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final String CLOSE = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

  @TempDir Path dir;

  private ActivationHarness harness(String... demoArgs) throws Exception {
    return ActivationHarness.builder(dir)
        .tcp("web")
        .maxActivations(10)
        .command(DemoProcess.command(demoArgs))
        .start();
  }

  /** A keep-alive GET on {@code c} that must succeed: proves the server behind c is serving. */
  private static void primed(HttpConn c) throws Exception {
    HttpConn.Response hello = c.get("/").read();
    assertThat(hello.status()).isEqualTo(200);
    assertThat(hello.closes()).isFalse();
  }

  private static long millisSince(long start) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }

  /** (a) */
  @Test
  void exitsIdleWithCodeZeroAndTheNextConnectionStartsANewInstanceThatServesIt() throws Exception {
    try (ActivationHarness h = harness("--idle-timeout", "2s")) {
      long served;
      try (HttpConn c = HttpConn.tcp(h.port("web"))) {
        HttpConn.Response r = c.send(CLOSE).read();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("hello from lull (listener web)\n");
        served = System.nanoTime();
      }
      // A connection that arrives while the instance exits is accepted by it and served, or
      // queued in the socket for the next instance: never refused nor reset.
      h.awaitLog(1, "RUNNING -> DRAINING (idle)", WAIT);
      try (HttpConn c = HttpConn.tcp(h.port("web"))) {
        assertThat(c.send(CLOSE).read().status()).isEqualTo(200);
      }
      assertThat(h.awaitExits(1, WAIT)).containsExactly(0);
      assertThat(millisSince(served))
          .as("exited after the idle timeout")
          .isGreaterThanOrEqualTo(2000);

      // After the exit: the next connection waits in the socket's queue and starts an instance.
      try (HttpConn c = HttpConn.tcp(h.port("web"))) {
        HttpConn.Response r = c.get("/").read();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("hello from lull (listener web)\n");
      }
      Activation second = h.awaitStart(2, WAIT);
      assertThat(second.pid()).isNotEqualTo(h.activations().get(0).pid());
      int started = h.activations().size();
      assertThat(h.awaitExits(started, WAIT)).as("each exits idle").containsOnly(0);
    }
  }

  /** (b) */
  @Test
  void sigtermDuringAThreeSecondRequestLetsItCompleteWithConnectionCloseThenExitsZero()
      throws Exception {
    try (ActivationHarness h = harness("--idle-timeout", "0");
        HttpConn c = HttpConn.tcp(h.port("web"))) {
      primed(c); // the connection is accepted by this instance: the request below is its own
      long start = System.nanoTime();
      c.get("/slow?duration=3s");
      h.terminate(1);
      HttpConn.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("slept 3s\n");
      assertThat(r.closes()).as("Connection: close in lame duck").isTrue();
      assertThat(millisSince(start)).isGreaterThanOrEqualTo(3000);
      assertThat(c.awaitEnd(WAIT)).as("clean close").isTrue();
      assertThat(h.awaitExits(1, WAIT)).containsExactly(0);
      assertThat(h.log(1))
          .contains("RUNNING -> DRAINING (signal)")
          .contains("DRAINING -> STOPPING (signal)")
          .contains("drained")
          .contains("cancelled 0, force-closed 0");
    }
  }

  /** (c) */
  @Test
  void aRequestLongerThanStopAndKillTimeoutsIsCutAndTheProcessExitsWithinThem() throws Exception {
    try (ActivationHarness h =
            harness("--idle-timeout", "0", "--stop-timeout", "2s", "--kill-timeout", "2s");
        HttpConn c = HttpConn.tcp(h.port("web"))) {
      primed(c);
      c.get("/stream?chunks=60&interval=1s");
      assertThat(c.line()).isEqualTo("HTTP/1.1 200 OK"); // streaming: the head went out
      long start = System.nanoTime();
      h.terminate(1);
      assertThat(h.awaitExits(1, WAIT)).containsExactly(0);
      long took = millisSince(start);
      // At most stop + kill timeouts, plus time for the release and the JVM's exit.
      assertThat(took).isGreaterThanOrEqualTo(2000).isLessThan(2000 + 2000 + 6000);
      // The rest of the response ends without its last chunk: cut.
      String rest;
      try {
        rest = new String(c.in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (java.net.SocketException reset) {
        rest = "";
      }
      assertThat(rest).doesNotContain("chunk 60 of 60").doesNotEndWith("0\r\n\r\n");
      assertThat(h.log(1)).contains("stop timeout 2s expired").contains("cancelled 1");
    }
  }

  /** (d) */
  @Test
  void stopTimeoutZeroWaitsForALongRequest() throws Exception {
    try (ActivationHarness h =
            harness("--idle-timeout", "0", "--stop-timeout", "0", "--kill-timeout", "1s");
        HttpConn c = HttpConn.tcp(h.port("web"))) {
      primed(c);
      c.get("/slow?duration=4s");
      h.terminate(1);
      HttpConn.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("slept 4s\n");
      assertThat(r.closes()).isTrue();
      assertThat(h.awaitExits(1, WAIT)).containsExactly(0);
      assertThat(h.log(1)).contains("stop timeout none (wait forever)").contains("drained");
    }
  }

  /** A second SIGTERM during the drain skips to force-close. */
  @Test
  void aSecondSigtermDuringTheDrainStopsAtOnce() throws Exception {
    try (ActivationHarness h =
            harness("--idle-timeout", "0", "--stop-timeout", "60s", "--kill-timeout", "60s");
        HttpConn c = HttpConn.tcp(h.port("web"))) {
      primed(c);
      c.get("/slow?duration=60s");
      h.terminate(1);
      h.awaitLog(1, "RUNNING -> DRAINING (signal)", WAIT);
      long start = System.nanoTime();
      h.terminate(1);
      assertThat(h.awaitExits(1, WAIT)).containsExactly(0);
      assertThat(millisSince(start)).as("not the 60s timeouts").isLessThan(10_000);
      assertThat(h.log(1))
          .contains("second stop request (signal): stopping now")
          .contains("forced");
      // The slow request did not complete: cut (or answered 503 as its handler was cancelled).
      try {
        HttpConn.Response r = c.read();
        assertThat(r.status()).isEqualTo(503);
      } catch (java.io.IOException cut) {
        // closed or reset before a response: cut
      }
    }
  }

  /** (f) */
  @Test
  void aConnectionThatNeverSendsAByteDoesNotKeepTheServerFromExitingIdle() throws Exception {
    try (ActivationHarness h = harness("--idle-timeout", "1s", "--read-header-timeout", "2s");
        HttpConn silent = HttpConn.tcp(h.port("web"))) {
      long start = System.nanoTime();
      h.awaitStart(1, WAIT);
      assertThat(h.awaitExits(1, WAIT)).containsExactly(0);
      assertThat(millisSince(start))
          .as("read-header timeout, then idle")
          .isGreaterThanOrEqualTo(3000);
      assertThat(silent.awaitEnd(Duration.ofSeconds(5))).as("closed by the server").isTrue();
      assertThat(h.log(1)).contains("RUNNING -> DRAINING (idle)");
      assertThat(h.activations()).hasSize(1);
    }
  }

  /** (g) */
  @Test
  void aHijackedConnectionKeepsTheServerAliveUntilItCloses() throws Exception {
    try (ActivationHarness h = harness("--idle-timeout", "1s");
        HttpConn c = HttpConn.tcp(h.port("web"))) {
      c.send("GET /raw HTTP/1.1\r\nHost: t\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
      assertThat(c.line()).isEqualTo("HTTP/1.1 101 Switching Protocols");
      while (!c.line().isEmpty()) {
        // headers of the 101
      }
      c.send("one\n");
      assertThat(c.line()).isEqualTo("one");
      assertThat(h.exitedWithin(1, Duration.ofSeconds(4)))
          .as("alive past the idle timeout")
          .isFalse();
      c.send("two\n");
      assertThat(c.line()).isEqualTo("two");

      long start = System.nanoTime();
      c.socket.shutdownOutput(); // the handler reads the end and closes the connection
      assertThat(c.awaitEnd(WAIT)).isTrue();
      assertThat(h.awaitExits(1, WAIT)).containsExactly(0);
      assertThat(millisSince(start)).isGreaterThanOrEqualTo(1000);
      assertThat(h.log(1)).contains("RUNNING -> DRAINING (idle)");
    }
  }

  /** (e) */
  @Test
  void steadyKeepAliveLoadAcrossFiveStopsAndReactivationsLosesNoRequest() throws Exception {
    try (ActivationHarness h = harness("--idle-timeout", "0")) {
      Target target = Target.parse("http://127.0.0.1:" + h.port("web") + "/", null);
      LoadSpec spec =
          new LoadSpec(
              target,
              "GET",
              List.of(),
              new byte[0],
              8,
              0,
              Duration.ofMinutes(4), // a bound; the test stops the run earlier
              0,
              WAIT,
              2);
      LoadRunner runner = new LoadRunner(spec);
      Progress progress = new Progress();
      CompletableFuture<LoadResult> run = new CompletableFuture<>();
      Thread.ofPlatform()
          .name("load")
          .start(
              () -> {
                try {
                  run.complete(runner.run(new PrintWriter(progress)));
                } catch (Throwable e) {
                  run.completeExceptionally(e);
                }
              });
      try {
        for (int i = 1; i <= 6; i++) {
          h.awaitStart(i, WAIT);
          // Instance i serves (only one runs at a time): a GET of our own proves it. Then it
          // carries the load for a while: 200 more ok responses after the next progress report.
          try (HttpConn c = HttpConn.tcp(h.port("web"))) {
            c.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            assertThat(c.read().status()).isEqualTo(200);
          }
          progress.awaitOk(progress.awaitNextReport(WAIT) + 200, WAIT);
          if (i == 6) break;
          h.terminate(i);
          assertThat(h.awaitExits(i, WAIT).get(i - 1)).as("exit code of instance " + i).isZero();
        }
      } finally {
        runner.stop();
      }
      LoadResult result = run.get(2, TimeUnit.MINUTES);
      System.out.println("load across 5 stops and re-activations:\n" + result.toText());
      assertThat(result.failed()).as(result.toText()).isZero();
      assertThat(result.ok()).isGreaterThan(1000);
      assertThat(result.reconnects())
          .as("connections re-opened after each stop")
          .isGreaterThanOrEqualTo(5);
      assertThat(h.exitCodes().subList(0, 5)).containsOnly(0);
      for (int i = 1; i <= 5; i++) {
        assertThat(h.log(i)).contains("RUNNING -> DRAINING (signal)").contains("force-closed 0");
      }
    }
  }

  /** Reads the load runner's progress lines ("... ok N ...") as they come. */
  private static final class Progress extends Writer {
    private static final Pattern OK = Pattern.compile(" ok (\\d+)");
    private final StringBuilder pending = new StringBuilder();
    private long ok;

    @Override
    public synchronized void write(char[] b, int off, int len) {
      pending.append(b, off, len);
      int nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        Matcher m = OK.matcher(pending.substring(0, nl));
        if (m.find()) {
          ok = Long.parseLong(m.group(1));
          reports++;
        }
        pending.delete(0, nl + 1);
        notifyAll();
      }
    }

    private long reports;

    /** Waits for the next progress report and returns its ok count. */
    synchronized long awaitNextReport(Duration timeout) throws InterruptedException {
      long seen = reports;
      long deadline = System.nanoTime() + timeout.toNanos();
      while (reports == seen) {
        long left = deadline - System.nanoTime();
        if (left <= 0) throw new AssertionError("no progress report in " + timeout);
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
      return ok;
    }

    /** Waits until the run has counted {@code target} ok responses (reported once a second). */
    synchronized void awaitOk(long target, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (ok < target) {
        long left = deadline - System.nanoTime();
        if (left <= 0) throw new AssertionError("load stuck at ok " + ok + ", wanted " + target);
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }
}
