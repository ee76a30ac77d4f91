package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.ConnectionState;
import dev.lull.core.StopReason;
import dev.lull.core.Termination;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The scenarios of facebookgo/httpdown's and tylerb/graceful's own tests, as black-box tests of a
 * real server on loopback: stop with no request, with a finished request (an idle keep-alive
 * connection), with a streaming response in flight, a new connection refused after the stop while
 * the request in flight completes, double and concurrent stops, stop before start, and graceful's
 * {@code Stop(timeout)}.
 */
class GracefulStopTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Duration GRACE = Duration.ofMillis(300);
  private final Recorder rec = new Recorder();
  private TestServer t;

  @AfterEach
  void close() {
    if (t != null) t.close();
  }

  private TestServer start(Handler handler) {
    t =
        TestServer.start(
            handler,
            b ->
                b.lameDuckIdleGrace(GRACE)
                    .connectionListener(rec.connections())
                    .lifecycleListener(rec.phases()));
    return t;
  }

  private static final String GET = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

  /** Whether a new connection to {@code port} is refused: nothing listens there any more. */
  private static boolean refused(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      return false;
    } catch (ConnectException e) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private void assertGraceful(Termination end) {
    assertThat(end.reason()).isEqualTo(StopReason.API);
    assertThat(end.graceful()).isTrue();
    assertThat(end.cancelled()).isZero();
    assertThat(end.forceClosed()).isZero();
    assertThat(end.exitCode()).isZero();
    assertThat(rec.events("phase"))
        .containsExactly("phase RUNNING", "phase DRAINING", "phase STOPPING", "phase TERMINATED");
  }

  @Test
  void stopWithNoRequest() throws Exception {
    start((req, res) -> res.send("ok\n"));
    int port = t.port();
    Termination end = t.server.stop().get(10, TimeUnit.SECONDS);
    assertGraceful(end);
    assertThat(end.took()).isLessThan(Duration.ofSeconds(5));
    assertThat(refused(port)).isTrue();
  }

  @Test
  void stopWithAFinishedRequestClosesTheIdleConnectionCleanlyAfterTheGrace() throws Exception {
    start((req, res) -> res.send("ok\n"));
    try (Conn c = t.connect()) {
      c.send(GET);
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.header("connection")).isEmpty();
      rec.await("conn 1 IDLE");

      long start = System.nanoTime();
      CompletableFuture<Termination> stopped = t.server.stop();
      assertThat(c.in.read()).as("a clean end of stream, not a reset").isEqualTo(-1);
      Duration closedAfter = Duration.ofNanos(System.nanoTime() - start);
      assertThat(closedAfter).isGreaterThanOrEqualTo(GRACE).isLessThan(WAIT);
      Termination end = stopped.get(10, TimeUnit.SECONDS);
      assertGraceful(end);
      assertThat(end.took()).as("not the stop timeout").isLessThan(Duration.ofSeconds(10));
    }
    assertThat(rec.states(1))
        .containsExactly(
            ConnectionState.NEW,
            ConnectionState.ACTIVE,
            ConnectionState.IDLE,
            ConnectionState.CLOSED);
  }

  @Test
  void aRequestArrivingOnAnIdleConnectionWithinTheGraceIsServedWithConnectionClose()
      throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    start(
        (req, res) -> {
          if (req.path().equals("/wait")) release.await();
          res.send("ok " + req.path() + "\n");
        });
    try (Conn busy = t.connect();
        Conn c = t.connect()) {
      c.send(GET);
      assertThat(c.read().status()).isEqualTo(200);
      rec.await(e -> e.endsWith(" IDLE"), 1, WAIT, "IDLE");
      busy.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n"); // keeps the drain going
      rec.await(e -> e.endsWith(" ACTIVE"), 2, WAIT, "2 ACTIVE");

      CompletableFuture<Termination> stopped = t.server.stop();
      Awaits.until(WAIT, "listener closed", () -> refused(t.port()));
      // The client reuses the idle connection at once: within the grace, so it is served (with
      // Connection: close once lame duck has begun, an instant after the listener closed), and the
      // connection closes after the response, not under the request.
      c.send("GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response again = c.read();
      assertThat(again.bodyText()).isEqualTo("ok /again\n");
      c.awaitClose(WAIT);

      release.countDown();
      RawHttp.Response waited = busy.read();
      assertThat(waited.bodyText()).isEqualTo("ok /wait\n");
      assertThat(waited.header("connection")).hasValue("close");
      assertGraceful(stopped.get(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void stopWithAnActiveStreamingResponseLetsTheClientGetTheWholeBody() throws Exception {
    CountDownLatch goOn = new CountDownLatch(1);
    start(
        (req, res) -> {
          OutputStream out = res.body();
          out.write("chunk 0\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          goOn.await();
          for (int i = 1; i <= 100; i++) {
            out.write(("chunk " + i + "\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
          }
          out.close();
        });
    try (Conn c = t.connect()) {
      c.send(GET);
      RawHttp.Response head = RawHttp.readHead(c.in);
      assertThat(head.status()).isEqualTo(200);
      assertThat(new String(RawHttp.readChunk(c.in), StandardCharsets.US_ASCII))
          .isEqualTo("chunk 0\n");

      CompletableFuture<Termination> stopped = t.server.stop();
      Awaits.until(WAIT, "listener closed", () -> refused(t.port()));
      goOn.countDown();
      StringBuilder rest = new StringBuilder();
      for (byte[] chunk; (chunk = RawHttp.readChunk(c.in)) != null; ) {
        rest.append(new String(chunk, StandardCharsets.US_ASCII));
      }
      StringBuilder expected = new StringBuilder();
      for (int i = 1; i <= 100; i++) expected.append("chunk ").append(i).append('\n');
      assertThat(rest.toString()).isEqualTo(expected.toString());
      c.awaitClose(WAIT); // lame duck: the connection closes after the response
      assertGraceful(stopped.get(10, TimeUnit.SECONDS));
    }
  }

  /**
   * A streamed response that began before the stop said keep-alive in its head; the client reuses
   * the connection as soon as the last chunk arrives. That request is served (within the grace),
   * not met by a close: closing at once raced it (found by the 20 re-activations under load of
   * lull-cli's LifecycleProcessTest, where every stop made clients retry).
   */
  @Test
  void aRequestRightAfterAStreamedResponseThatBeganBeforeTheStopIsServed() throws Exception {
    CountDownLatch goOn = new CountDownLatch(1);
    start(
        (req, res) -> {
          if (req.path().equals("/again")) {
            res.send("ok /again\n");
            return;
          }
          OutputStream out = res.body();
          out.write("chunk 0\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          goOn.await();
          out.write("chunk 1\n".getBytes(StandardCharsets.US_ASCII));
          out.close();
        });
    try (Conn probe = t.connect();
        Conn c = t.connect()) {
      probe.send("GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(probe.read().status()).isEqualTo(200);
      c.send(GET);
      RawHttp.Response head = RawHttp.readHead(c.in);
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("connection")).as("keep-alive when it began").isEmpty();
      assertThat(RawHttp.readChunk(c.in)).isNotNull();

      CompletableFuture<Termination> stopped = t.server.stop();
      probe.awaitClose(WAIT); // the idle probe closed after the grace: lame duck has begun
      goOn.countDown();
      while (RawHttp.readChunk(c.in) != null) {
        // the rest, up to the last chunk
      }
      c.send("GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response again = c.read();
      assertThat(again.status()).isEqualTo(200);
      assertThat(again.bodyText()).isEqualTo("ok /again\n");
      c.awaitClose(WAIT);
      assertGraceful(stopped.get(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void aNewConnectionAfterStopIsRefusedWhileThePausedRequestCompletes() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch finish = new CountDownLatch(1);
    start(
        (req, res) -> {
          if (req.path().equals("/probe")) {
            res.send("probe\n");
            return;
          }
          entered.countDown();
          finish.await();
          res.send("finished\n");
        });
    int port = t.port();
    try (Conn probe = t.connect();
        Conn c = t.connect()) {
      c.send(GET);
      assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
      probe.send("GET /probe HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(probe.read().status()).isEqualTo(200);

      CompletableFuture<Termination> stopped = t.server.stop();
      Awaits.until(WAIT, "new connections refused", () -> refused(port));
      // The idle probe connection is closed after the grace: lame duck has begun.
      probe.awaitClose(WAIT);
      assertThat(stopped).isNotDone();

      finish.countDown();
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("finished\n");
      assertThat(r.header("connection")).hasValue("close");
      c.awaitClose(WAIT);
      assertGraceful(stopped.get(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void doubleStopReturnsTheSameOutcome() throws Exception {
    start((req, res) -> res.send("ok\n"));
    CompletableFuture<Termination> first = t.server.stop();
    CompletableFuture<Termination> second = t.server.stop();
    Termination end = first.get(10, TimeUnit.SECONDS);
    assertThat(second.get(10, TimeUnit.SECONDS)).isEqualTo(end);
    assertThat(t.server.stop().get(10, TimeUnit.SECONDS)).as("after the end").isEqualTo(end);
    assertGraceful(end);
  }

  @Test
  void concurrentStopsRunOneStop() throws Exception {
    start((req, res) -> res.send("ok\n"));
    try (Conn c = t.connect()) {
      c.send(GET);
      assertThat(c.read().status()).isEqualTo(200);
      int n = 8;
      CyclicBarrier together = new CyclicBarrier(n);
      ExecutorService pool = Executors.newFixedThreadPool(n);
      try {
        List<Future<Termination>> outcomes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          outcomes.add(
              pool.submit(
                  () -> {
                    together.await(10, TimeUnit.SECONDS);
                    return t.server.stop().get(10, TimeUnit.SECONDS);
                  }));
        }
        Termination end = outcomes.get(0).get(20, TimeUnit.SECONDS);
        for (Future<Termination> f : outcomes) {
          assertThat(f.get(20, TimeUnit.SECONDS)).isEqualTo(end);
        }
        assertGraceful(end); // each phase entered once
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void stopBeforeStartStartsNothing() throws Exception {
    Server server =
        Server.builder()
            .listen("127.0.0.1:0")
            .handler((req, res) -> res.send("ok\n"))
            .lifecycleListener(rec.phases())
            .build();
    try {
      Termination end = server.stop().get(10, TimeUnit.SECONDS);
      assertThat(end.reason()).isEqualTo(StopReason.API);
      assertThat(end.graceful()).isTrue();
      assertThatThrownBy(server::start)
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("stopped before start (api)");
      assertThat(server.listeners()).isEmpty();
      assertThat(rec.events("phase")).containsExactly("phase STOPPING", "phase TERMINATED");
    } finally {
      server.close();
    }
  }

  @Test
  void stopWithATimeoutCancelsWhatRunsLongerAsGracefulsStopTimeoutDoes() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CompletableFuture<Boolean> interrupted = new CompletableFuture<>();
    start(
        (req, res) -> {
          entered.countDown();
          try {
            new CountDownLatch(1).await(); // forever, unless interrupted
          } catch (InterruptedException e) {
            interrupted.complete(true);
            throw e;
          }
        });
    try (Conn c = t.connect()) {
      c.send(GET);
      assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
      long start = System.nanoTime();
      Termination end = t.server.stop(Duration.ofMillis(300)).get(10, TimeUnit.SECONDS);
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isGreaterThanOrEqualTo(Duration.ofMillis(300))
          .as("the 300ms given to stop, not the 20s default")
          .isLessThan(Duration.ofSeconds(10));
      assertThat(interrupted.get(10, TimeUnit.SECONDS)).isTrue();
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.bodyText()).isEqualTo("server stopping\n");
      assertThat(r.header("connection")).hasValue("close");
      assertThat(end.graceful()).isFalse();
      assertThat(end.cancelled()).isEqualTo(1);
      assertThat(end.exitCode()).isZero();
    }
  }
}
