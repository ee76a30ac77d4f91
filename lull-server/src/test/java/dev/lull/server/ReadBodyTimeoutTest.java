package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code readBodyTimeout}: a request body that stops arriving fails with 408 and the connection
 * closes; a body that keeps coming, a handler that is slow to read, and a client waiting for {@code
 * 100 Continue} are not cut.
 */
class ReadBodyTimeoutTest {
  private static final Duration TIMEOUT = Duration.ofMillis(400);
  private final AtomicReference<Throwable> readFailure = new AtomicReference<>();
  private final ScheduledExecutorService pacer = Executors.newSingleThreadScheduledExecutor();
  private TestServer server;

  @AfterEach
  void stop() {
    pacer.shutdownNow();
    if (server != null) server.close();
  }

  private void start(Handler h) {
    server = TestServer.start(h, b -> b.readBodyTimeout(TIMEOUT));
  }

  private final Handler reader =
      (req, res) -> {
        try {
          byte[] body = req.body().readAllBytes();
          res.send("read " + body.length);
        } catch (IOException e) {
          readFailure.set(e);
          throw e;
        }
      };

  @Test
  void aBodyThatStopsArrivingGets408AndTheConnectionCloses() throws Exception {
    start(reader);
    try (Conn c = server.connect()) {
      long t0 = System.nanoTime();
      c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
      RawHttp.Response r = c.read();
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      assertThat(r.status()).isEqualTo(408);
      assertThat(r.header("connection")).contains("close");
      c.awaitClose(Duration.ofSeconds(5));
      assertThat(took).isGreaterThanOrEqualTo(TIMEOUT);
    }
    assertThat(readFailure.get()).hasMessageContaining("no request body bytes for 400ms");
  }

  @Test
  void aChunkedBodyThatStopsArrivingGets408() throws Exception {
    start(reader);
    try (Conn c = server.connect()) {
      c.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
      assertThat(c.read().status()).isEqualTo(408);
      c.awaitClose(Duration.ofSeconds(5));
    }
  }

  @Test
  void aBodyWhoseBytesKeepComingIsNotCut() throws Exception {
    start(reader);
    try (Conn c = server.connect()) {
      c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\n");
      // Six bytes, one every TIMEOUT/2: the whole body takes longer than TIMEOUT, no pause does.
      long period = TIMEOUT.toMillis() / 2;
      for (int i = 1; i <= 6; i++) {
        pacer.schedule(() -> c.send("x"), i * period, TimeUnit.MILLISECONDS);
      }
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("read 6");
    }
  }

  @Test
  void aHandlerSlowToReadDoesNotMakeTheClientLate() throws Exception {
    // The whole body is sent at once; the handler leaves it unread for 3 x TIMEOUT (reading stops
    // at the high-water mark meanwhile): the pause is the server's.
    start(
        (req, res) -> {
          CompletableFuture.runAsync(
                  () -> {}, CompletableFuture.delayedExecutor(3 * TIMEOUT.toMillis(), MILLIS))
              .join();
          res.send("read " + req.body().readAllBytes().length);
        });
    int n = 512 * 1024;
    try (Conn c = server.connect()) {
      CompletableFuture<Void> sent =
          CompletableFuture.runAsync(
              () ->
                  c.send(
                      ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: " + n + "\r\n\r\n")
                          + "b".repeat(n)),
              r -> Thread.ofVirtual().start(r));
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("read " + n);
      sent.get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aClientWaitingFor100ContinueIsNotLate() throws Exception {
    start(
        (req, res) -> {
          CompletableFuture.runAsync(
                  () -> {}, CompletableFuture.delayedExecutor(3 * TIMEOUT.toMillis(), MILLIS))
              .join();
          res.send("read " + req.body().readAllBytes().length);
        });
    try (Conn c = server.connect()) {
      c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
      RawHttp.Response cont = RawHttp.readHead(c.in);
      assertThat(cont.status()).as(cont.toString() + " " + readFailure.get()).isEqualTo(100);
      c.send("hello");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("read 5");
    }
  }

  @Test
  void theRestOfAnUnreadBodyThatStopsArrivingClosesTheConnection() throws Exception {
    // The handler answers without reading; the server drops the rest of the (small) body to keep
    // the connection, but a client that never sends it no longer holds the connection ACTIVE.
    start((req, res) -> res.send("not read"));
    try (Conn c = server.connect()) {
      c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nabc");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      Duration closedAfter = c.awaitClose(Duration.ofSeconds(5));
      assertThat(closedAfter).isLessThan(Duration.ofSeconds(5));
    }
  }

  @Test
  void theRestOfAnUnreadBodyTrickledByteByByteClosesTheConnectionToo() throws Exception {
    start((req, res) -> res.send("not read"));
    try (Conn c = server.connect()) {
      c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nabc");
      assertThat(c.read().status()).isEqualTo(200);
      // One byte every TIMEOUT/4: no pause is long enough, the whole is too long.
      var trickle =
          pacer.scheduleAtFixedRate(
              () -> {
                try {
                  c.out.write('x');
                } catch (IOException e) {
                  // closed
                }
              },
              0,
              TIMEOUT.toMillis() / 4,
              MILLIS);
      try {
        c.awaitClose(Duration.ofSeconds(5));
      } finally {
        trickle.cancel(false);
      }
    }
  }

  private static final TimeUnit MILLIS = TimeUnit.MILLISECONDS;
}
