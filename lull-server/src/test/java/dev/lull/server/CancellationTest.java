package dev.lull.server;

import static dev.lull.core.CancellationCause.CLIENT_DISCONNECTED;
import static dev.lull.core.CancellationCause.SERVER_STOPPING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.CancellationCause;
import dev.lull.core.CancelledException;
import dev.lull.core.Context;
import dev.lull.core.Scheduler;
import dev.lull.core.Subprocess;
import dev.lull.core.Termination;
import dev.lull.core.Ticker;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Request cancellation with real sockets: the client going away, the stop timeout, and what the
 * handler and the client see. Deadlines are in {@link DeadlineTest}, half-closing clients in {@link
 * HalfCloseTest}.
 */
class CancellationTest {
  /** How soon a handler blocked in a call must wake after its client closed (issue 4). */
  static final Duration WAKE_LIMIT = Duration.ofMillis(100);

  private final BlockingQueue<Seen> next = new LinkedBlockingQueue<>();
  private final List<Long> pids = new ArrayList<>();
  private final LogCapture logs = LogCapture.lull();

  @AfterEach
  void cleanUp() {
    logs.close();
    for (long pid : pids) ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
  }

  /** What one handler saw, reported to the test. */
  static final class Seen {
    final CountDownLatch started = new CountDownLatch(1);
    final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    volatile Thread thread;

    void start() {
      thread = Thread.currentThread();
      started.countDown();
    }

    void end(Throwable woke, Request req) {
      outcome.complete(
          new Outcome(
              System.nanoTime(),
              woke,
              req.context().cause().orElse(null),
              Thread.currentThread().isInterrupted()));
    }

    void awaitStarted() throws InterruptedException {
      assertThat(started.await(10, TimeUnit.SECONDS)).as("handler started").isTrue();
    }

    Outcome await() throws Exception {
      return outcome.get(10, TimeUnit.SECONDS);
    }

    /** Waits until the handler's thread, and so the whole exchange, has finished. */
    void awaitDone() throws InterruptedException {
      assertThat(thread.join(Duration.ofSeconds(10))).as("exchange finished").isTrue();
    }
  }

  /** When the handler woke, what woke it (null: it was not woken), its context's cause. */
  record Outcome(long at, Throwable woke, CancellationCause cause, boolean interruptFlag) {}

  /** Blocks the handler; calls {@code ready} just before the blocking call. */
  @FunctionalInterface
  interface Blocker {
    void block(Request req, Runnable ready) throws Exception;
  }

  /** A handler that blocks in {@code blocker} and reports to the next {@link Seen} queued. */
  private Handler blocking(Blocker blocker) {
    return (req, res) -> {
      Seen seen = next.poll(10, TimeUnit.SECONDS);
      try {
        blocker.block(req, seen::start);
      } catch (Exception e) {
        seen.end(e, req);
        throw e;
      }
      seen.end(null, req);
      res.send("not cancelled\n");
    };
  }

  /**
   * Sends a request, waits until its handler blocks, closes the connection and returns how long the
   * handler took to wake, from the close.
   */
  private Duration closeMidRequest(TestServer t) throws Exception {
    Seen seen = new Seen();
    next.add(seen);
    Conn c = t.connect();
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    seen.awaitStarted();
    // The handler is about to block (or has): a close now arrives while it waits.
    long closed = System.nanoTime();
    c.close();
    Outcome o = seen.await();
    seen.awaitDone();
    assertThat(o.cause()).isEqualTo(CLIENT_DISCONNECTED);
    assertThat(o.woke()).as("woken by the cancellation").isNotNull();
    return Duration.ofNanos(o.at() - closed);
  }

  /** The first cancellation loads classes; the second is measured. */
  private void assertWakesSoonAfterClose(Blocker blocker) throws Exception {
    assertWakesSoonAfterClose(blocker, Scheduling.EVENT_LOOP);
  }

  private void assertWakesSoonAfterClose(Blocker blocker, Scheduling scheduling) throws Exception {
    try (TestServer t = TestServer.start(blocking(blocker), b -> b.scheduling(scheduling))) {
      closeMidRequest(t);
      Duration took = closeMidRequest(t);
      assertThat(took).as("woke after the client closed").isLessThan(WAKE_LIMIT);
      assertThat(t.server.engine().cancellations(CLIENT_DISCONNECTED)).isEqualTo(2);
    }
    assertNoStackTraces();
  }

  private void assertNoStackTraces() {
    assertThat(logs.problems()).isEmpty();
    assertThat(logs.all()).filteredOn(r -> r.getThrown() != null).isEmpty();
  }

  @Test
  void aClientClosingWakesAHandlerFromSleep() throws Exception {
    assertWakesSoonAfterClose(
        (req, ready) -> {
          ready.run();
          Thread.sleep(Duration.ofSeconds(30));
        });
  }

  @Test
  void aClientClosingWakesAHandlerFromABlockingSocketRead() throws Exception {
    assertWakesSoonAfterClose(
        (req, ready) -> {
          InetAddress loopback = InetAddress.getLoopbackAddress();
          try (ServerSocket server = new ServerSocket(0, 1, loopback);
              Socket client = new Socket(loopback, server.getLocalPort());
              Socket accepted = server.accept()) {
            ready.run();
            int b = client.getInputStream().read(); // nobody writes: blocks until interrupted
            throw new AssertionError("read returned " + b);
          }
        });
  }

  @Test
  void aClientClosingWakesAHandlerFromProcessWaitFor() throws Exception {
    assertWakesSoonAfterClose(
        (req, ready) -> {
          // Not through Subprocess: this is about the interrupt, not about killing the process.
          Process p = new ProcessBuilder("sleep", "30").start();
          // Only now: while a process starts, its helper holds copies of every fd of this JVM, the
          // test's client socket included, and closing that socket would then be a half-close.
          ready.run();
          synchronized (pids) {
            pids.add(p.pid());
          }
          try {
            p.waitFor();
          } finally {
            p.destroyForcibly();
          }
        },
        Scheduling.SHARED); // starting a process is native work: not on an event loop
  }

  @Test
  void withoutInterruptionTheHandlerSeesTheCancellationInItsContext() throws Exception {
    AtomicInteger callbacks = new AtomicInteger();
    CompletableFuture<String> late = new CompletableFuture<>();
    CompletableFuture<CancelledException> checkpoint = new CompletableFuture<>();
    Handler handler =
        blocking(
            (req, ready) -> {
              Context ctx = req.context();
              CountDownLatch cancelled = new CountDownLatch(1);
              ctx.onCancel(
                  () -> {
                    callbacks.incrementAndGet();
                    cancelled.countDown();
                  });
              ready.run();
              // An interrupt would throw here: the route says not to interrupt.
              assertThat(cancelled.await(10, TimeUnit.SECONDS)).isTrue();
              assertThat(ctx.isCancelled()).isTrue();
              // Registered after the cancellation: runs at once, here.
              ctx.onCancel(() -> late.complete(Thread.currentThread().getName()));
              try {
                ctx.checkpoint();
              } catch (CancelledException e) {
                checkpoint.complete(e);
              }
            });
    Router router =
        Router.builder()
            .route("GET /", handler, RouteOptions.builder().interruptOnCancel(false).build())
            .build();
    try (TestServer t = TestServer.start(router)) {
      Seen seen = new Seen();
      next.add(seen);
      Conn c = t.connect();
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      seen.awaitStarted();
      c.close();
      Outcome o = seen.await();
      seen.awaitDone();
      assertThat(o.woke()).as("not interrupted").isNull();
      assertThat(o.interruptFlag()).isFalse();
      assertThat(o.cause()).isEqualTo(CLIENT_DISCONNECTED);
      assertThat(callbacks).hasValue(1);
      assertThat(late.getNow(null)).isEqualTo(seen.thread.getName());
      assertThat(checkpoint.getNow(null).reason()).isEqualTo(CLIENT_DISCONNECTED);
    }
    assertNoStackTraces();
  }

  @Test
  void aCancelledSubprocessLeavesNoProcessBehindGrandchildrenIncluded() throws Exception {
    CompletableFuture<List<Long>> tree = new CompletableFuture<>();
    Handler handler =
        blocking(
            (req, ready) -> {
              ready.run();
              // sh forks two sleeps and waits: the sleeps are grandchildren of the server.
              Process sh =
                  Subprocess.start(
                      new ProcessBuilder("sh", "-c", "sleep 30 & sleep 30; wait"),
                      req.context(),
                      Duration.ofSeconds(2));
              List<Long> all = new ArrayList<>(List.of(sh.pid()));
              synchronized (pids) {
                pids.add(sh.pid());
              }
              // No event says the shell has forked: look for its children, bounded.
              Awaits.until(
                  Duration.ofSeconds(10),
                  "sh started its two sleeps",
                  () -> sh.toHandle().children().count() == 2);
              for (ProcessHandle h : sh.toHandle().children().toList()) all.add(h.pid());
              synchronized (pids) {
                pids.addAll(all);
              }
              tree.complete(all);
              sh.waitFor();
            });
    try (TestServer t = TestServer.start(handler)) {
      Seen seen = new Seen();
      next.add(seen);
      Conn c = t.connect();
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      List<Long> started = tree.get(10, TimeUnit.SECONDS);
      for (long pid : started) {
        assertThat(ProcessHandle.of(pid)).as("pid " + pid + " runs").isPresent();
      }
      c.close();
      assertThat(seen.await().cause()).isEqualTo(CLIENT_DISCONNECTED);
      for (long pid : started) {
        ProcessHandle.of(pid).ifPresent(h -> h.onExit().orTimeout(10, TimeUnit.SECONDS).join());
        // Gone, not a zombie: the JVM reaps the shell, init (or a subreaper) the sleeps.
        Awaits.until(
            Duration.ofSeconds(10),
            "pid " + pid + " reaped",
            () -> !Files.exists(Path.of("/proc/" + pid)));
      }
    }
    assertNoStackTraces();
  }

  @Test
  void theStopTimeoutCancelsWithServerStoppingAndTheClientGets503() throws Exception {
    try (TestServer t =
            TestServer.start(
                blocking(
                    (req, ready) -> {
                      ready.run();
                      Thread.sleep(Duration.ofSeconds(30));
                    }));
        Conn c = t.connect()) {
      Seen seen = new Seen();
      next.add(seen);
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      seen.awaitStarted();
      CompletableFuture<Termination> stopped = t.server.stop(Duration.ofMillis(200));
      Outcome o = seen.await();
      assertThat(o.cause()).isEqualTo(SERVER_STOPPING);
      assertThat(o.woke()).isInstanceOf(InterruptedException.class);
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.bodyText()).isEqualTo("server stopping\n");
      assertThat(r.header("connection")).contains("close");
      stopped.get(10, TimeUnit.SECONDS);
      assertThat(t.server.engine().cancellations(SERVER_STOPPING)).isEqualTo(1);
    }
    assertNoStackTraces();
  }

  @Test
  void aHandlerThatIgnoresTheStopAnswersNormally() throws Exception {
    // Cancelled, not interrupted, it keeps going and answers: what it sends is what the client
    // gets.
    Handler handler =
        blocking(
            (req, ready) -> {
              CountDownLatch cancelled = new CountDownLatch(1);
              req.context().onCancel(cancelled::countDown);
              ready.run();
              assertThat(cancelled.await(10, TimeUnit.SECONDS)).isTrue();
            });
    try (TestServer t = TestServer.start(handler, b -> b.interruptOnCancel(false));
        Conn c = t.connect()) {
      Seen seen = new Seen();
      next.add(seen);
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      seen.awaitStarted();
      t.server.stop(Duration.ofMillis(100));
      assertThat(seen.await().cause()).isEqualTo(SERVER_STOPPING);
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("not cancelled\n");
    }
  }

  @Test
  void requestContextsCarryTheBaseContextsValues() throws Exception {
    Context.Key<String> version = Context.Key.of("version");
    Context base = Context.root(Ticker.system(), Scheduler.system()).withValue(version, "1.2.3");
    Handler handler = (req, res) -> res.send(req.context().value(version).orElse("none") + "\n");
    try (TestServer t = TestServer.start(handler, b -> b.baseContext(base));
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().bodyText()).isEqualTo("1.2.3\n");
      // Cancelling the base does not reach requests: each has a detached context.
      base.cancel(CancellationCause.CANCELLED);
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("1.2.3\n");
    }
  }

  @Test
  void aHandlerCancellingItsOwnContextIsNotCountedNorCut() throws Exception {
    Handler handler =
        (req, res) -> {
          req.context().cancel(CancellationCause.CANCELLED);
          assertThatThrownBy(() -> req.context().checkpoint())
              .isInstanceOfSatisfying(
                  CancelledException.class,
                  e -> assertThat(e.reason()).isEqualTo(CancellationCause.CANCELLED));
          res.send("done\n");
        };
    try (TestServer t = TestServer.start(handler);
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("done\n");
      for (CancellationCause cause : CancellationCause.values()) {
        assertThat(t.server.engine().cancellations(cause)).as(cause.name()).isZero();
      }
    }
  }

  @Test
  void aFailingOnCancelCallbackIsOneLineWithoutAStackTrace() throws Exception {
    Handler handler =
        blocking(
            (req, ready) -> {
              req.context()
                  .onCancel(
                      () -> {
                        throw new IllegalStateException("callback bug");
                      });
              ready.run();
              Thread.sleep(Duration.ofSeconds(30));
            });
    try (TestServer t = TestServer.start(handler)) {
      Seen seen = new Seen();
      next.add(seen);
      Conn c = t.connect();
      c.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
      seen.awaitStarted();
      c.close();
      // The callback threw, the interrupt still came.
      assertThat(seen.await().woke()).isInstanceOf(InterruptedException.class);
      seen.awaitDone();
    }
    assertThat(logs.problems())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.getMessage()).contains("onCancel callback failed: GET /x");
              assertThat(r.getMessage()).contains("callback bug");
              assertThat(r.getThrown()).isNull();
            });
  }

  /** Reads what is left on {@code in} as text, until the end of the stream. */
  static String rest(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
  }
}
