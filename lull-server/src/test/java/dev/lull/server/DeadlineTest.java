package dev.lull.server;

import static dev.lull.core.CancellationCause.DEADLINE_EXCEEDED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.CancellationCause;
import dev.lull.core.testing.ManualClock;
import java.io.EOFException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Request deadlines, server-wide and per route. Deadlines run on a manual clock: a test moves time
 * past them when it wants them to fire, so nothing depends on how fast the machine is.
 */
class DeadlineTest {
  private final ManualClock clock = new ManualClock();
  private final LogCapture logs = LogCapture.lull();
  private final CountDownLatch started = new CountDownLatch(1);
  private final CountDownLatch go = new CountDownLatch(1);
  private final CompletableFuture<Optional<Duration>> remainingAtStart = new CompletableFuture<>();
  private final CompletableFuture<CancellationCause> causeAtEnd = new CompletableFuture<>();
  private final CompletableFuture<String> callbackThread = new CompletableFuture<>();

  @AfterEach
  void closeLogs() {
    logs.close();
  }

  private TestServer start(Handler handler, UnaryOperator<Server.Builder> options) {
    return TestServer.start(handler, b -> options.apply(b.clock(clock, clock)));
  }

  /** Blocks (interruptibly) until the test says go; reports what it saw; answers 200. */
  private final Handler waiting =
      (req, res) -> {
        remainingAtStart.complete(req.context().remaining());
        req.context().onCancel(() -> callbackThread.complete(Thread.currentThread().getName()));
        started.countDown();
        try {
          assertThat(go.await(30, TimeUnit.SECONDS)).isTrue();
        } finally {
          causeAtEnd.complete(req.context().cause().orElse(null));
        }
        res.send("answered\n");
      };

  private void awaitStarted() throws InterruptedException {
    assertThat(started.await(10, TimeUnit.SECONDS)).as("handler started").isTrue();
  }

  private void assertNoStackTraces() {
    assertThat(logs.problems()).isEmpty();
    assertThat(logs.all()).filteredOn(r -> r.getThrown() != null).isEmpty();
  }

  @Test
  void theServersRequestTimeoutAnswers503AndCancelsWithDeadlineExceeded() throws Exception {
    try (TestServer t = start(waiting, b -> b.requestTimeout(Duration.ofSeconds(1)));
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      awaitStarted();
      assertThat(remainingAtStart.get()).contains(Duration.ofSeconds(1));
      clock.advance(Duration.ofSeconds(1));
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.bodyText()).isEqualTo("request deadline exceeded\n");
      assertThat(r.header("connection")).contains("close");
      assertThat(causeAtEnd.get(10, TimeUnit.SECONDS)).isEqualTo(DEADLINE_EXCEEDED);
      // Not on the timer's thread (here the test's, which advanced the clock).
      assertThat(callbackThread.get(10, TimeUnit.SECONDS)).startsWith("lull-cancel-");
      c.awaitClose(Duration.ofSeconds(5));
      assertThat(t.server.engine().cancellations(DEADLINE_EXCEEDED)).isEqualTo(1);
    }
    assertNoStackTraces();
  }

  @Test
  void aRoutesTimeoutAndStatus() throws Exception {
    Router router =
        Router.builder()
            .route(
                "GET /slow",
                waiting,
                RouteOptions.builder().timeout(Duration.ofSeconds(2)).timeoutStatus(504).build())
            .build();
    try (TestServer t = start(router, b -> b);
        Conn c = t.connect()) {
      c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
      awaitStarted();
      assertThat(remainingAtStart.get()).contains(Duration.ofSeconds(2));
      clock.advance(Duration.ofMillis(1999));
      assertThat(causeAtEnd).isNotDone();
      clock.advance(Duration.ofMillis(1));
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(504);
      assertThat(r.bodyText()).isEqualTo("request deadline exceeded\n");
      assertThat(causeAtEnd.get(10, TimeUnit.SECONDS)).isEqualTo(DEADLINE_EXCEEDED);
    }
    assertNoStackTraces();
  }

  @Test
  void aRoutesTimeoutReplacesTheServersEvenWhenLonger() throws Exception {
    Router router =
        Router.builder()
            .route(
                "GET /report",
                waiting,
                RouteOptions.builder().timeout(Duration.ofSeconds(10)).build())
            .build();
    try (TestServer t = start(router, b -> b.requestTimeout(Duration.ofSeconds(1)));
        Conn c = t.connect()) {
      c.send("GET /report HTTP/1.1\r\nHost: t\r\n\r\n");
      awaitStarted();
      assertThat(remainingAtStart.get()).contains(Duration.ofSeconds(10));
      clock.advance(Duration.ofSeconds(5)); // the server's 1s has no timer any more
      go.countDown();
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(causeAtEnd.get()).isNull();
    }
  }

  @Test
  void onceAFilterHasTheContextARoutesTimeoutCanOnlyShortenIt() throws Exception {
    Router router =
        Router.builder()
            .route(
                "GET /report",
                waiting,
                RouteOptions.builder().timeout(Duration.ofSeconds(10)).build())
            .build();
    Handler filter =
        (req, res) -> {
          req.context(); // for example to log with its values
          router.handle(req, res);
        };
    try (TestServer t = start(filter, b -> b.requestTimeout(Duration.ofSeconds(1)));
        Conn c = t.connect()) {
      c.send("GET /report HTTP/1.1\r\nHost: t\r\n\r\n");
      awaitStarted();
      assertThat(remainingAtStart.get()).contains(Duration.ofSeconds(1));
      clock.advance(Duration.ofSeconds(1));
      assertThat(c.read().status()).isEqualTo(503);
      assertThat(causeAtEnd.get(10, TimeUnit.SECONDS)).isEqualTo(DEADLINE_EXCEEDED);
    }
  }

  @Test
  void optionsOfANestedRoutersRouteReachTheEngine() throws Exception {
    // The inner route sets the timeout, the outer one the status: both apply.
    Router inner =
        Router.builder()
            .route(
                "GET /api/{id}",
                waiting,
                RouteOptions.builder().timeout(Duration.ofSeconds(3)).build())
            .build();
    Router outer =
        Router.builder()
            .route("GET /api/{rest...}", inner, RouteOptions.builder().timeoutStatus(504).build())
            .build();
    try (TestServer t = start(outer, b -> b);
        Conn c = t.connect()) {
      c.send("GET /api/7 HTTP/1.1\r\nHost: t\r\n\r\n");
      awaitStarted();
      assertThat(remainingAtStart.get()).contains(Duration.ofSeconds(3));
      clock.advance(Duration.ofSeconds(3));
      assertThat(c.read().status()).isEqualTo(504);
    }
  }

  @Test
  void aStreamingResponsePastItsDeadlineIsCut() throws Exception {
    CompletableFuture<Throwable> woke = new CompletableFuture<>();
    Handler streaming =
        (req, res) -> {
          OutputStream out = res.body();
          out.write("first\n".getBytes(StandardCharsets.UTF_8));
          out.flush();
          try {
            Thread.sleep(Duration.ofSeconds(30));
          } catch (InterruptedException e) {
            woke.complete(e);
            causeAtEnd.complete(req.context().cause().orElse(null));
            throw e;
          }
          out.write("second\n".getBytes(StandardCharsets.UTF_8));
        };
    try (TestServer t = start(streaming, b -> b.requestTimeout(Duration.ofSeconds(1)));
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response head = RawHttp.readHead(c.in);
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.chunked()).isTrue();
      assertThat(RawHttp.readChunk(c.in)).asString(StandardCharsets.UTF_8).isEqualTo("first\n");
      clock.advance(Duration.ofSeconds(1));
      // The connection ends inside the chunked body: the client knows it is incomplete.
      assertThatThrownBy(() -> RawHttp.readChunk(c.in)).isInstanceOf(EOFException.class);
      assertThat(woke.get(10, TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
      assertThat(causeAtEnd.get()).isEqualTo(DEADLINE_EXCEEDED);
    }
    assertNoStackTraces();
  }

  @Test
  void aHandlerThatIgnoresItsDeadlineIsAnsweredForAndItsLateResponseDropped() throws Exception {
    CompletableFuture<Throwable> lateWrite = new CompletableFuture<>();
    Handler stubborn =
        (req, res) -> {
          CountDownLatch cancelled = new CountDownLatch(1);
          req.context().onCancel(cancelled::countDown);
          started.countDown();
          assertThat(cancelled.await(10, TimeUnit.SECONDS)).isTrue();
          assertThat(go.await(10, TimeUnit.SECONDS)).isTrue();
          try {
            res.body().write("too late\n".getBytes(StandardCharsets.UTF_8));
            res.body().flush();
            lateWrite.complete(null);
          } catch (Exception e) {
            lateWrite.complete(e);
            throw e;
          }
        };
    Router router =
        Router.builder()
            .route(
                "GET /",
                stubborn,
                RouteOptions.builder()
                    .timeout(Duration.ofSeconds(1))
                    .interruptOnCancel(false)
                    .build())
            .build();
    try (TestServer t = start(router, b -> b);
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      awaitStarted();
      clock.advance(Duration.ofSeconds(1));
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(503);
      go.countDown();
      assertThat(lateWrite.get(10, TimeUnit.SECONDS))
          .isInstanceOf(java.io.IOException.class)
          .hasMessage("request deadline exceeded");
      assertThat(c.readUntilClosed(Duration.ofSeconds(5))).isEmpty();
    }
    assertNoStackTraces();
  }
}
