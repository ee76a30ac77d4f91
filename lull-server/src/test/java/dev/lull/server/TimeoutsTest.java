package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TimeoutsTest {
  private final AtomicInteger calls = new AtomicInteger();
  private final ScheduledExecutorService drip = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stopDripping() {
    drip.shutdownNow();
  }

  private TestServer start(Duration readHeaderTimeout, Duration keepAliveTimeout) {
    return TestServer.start(
        (req, res) -> {
          calls.incrementAndGet();
          res.send("ok");
        },
        b -> b.readHeaderTimeout(readHeaderTimeout).keepAliveTimeout(keepAliveTimeout));
  }

  /** Sends {@code text} one byte every 100 ms (at most 50 bytes) until the connection fails. */
  private ScheduledFuture<?> slowly(Conn c, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    AtomicInteger next = new AtomicInteger();
    return drip.scheduleAtFixedRate(
        () -> {
          int i = next.getAndIncrement();
          if (i >= bytes.length) throw new IllegalStateException("done");
          try {
            c.out.write(bytes[i]);
            c.out.flush();
          } catch (IOException e) {
            throw new IllegalStateException("closed", e);
          }
        },
        0,
        100,
        TimeUnit.MILLISECONDS);
  }

  private static void assertNothingOr408(byte[] got) {
    String text = new String(got, StandardCharsets.ISO_8859_1);
    assertThat(text)
        .satisfiesAnyOf(
            t -> assertThat(t).isEmpty(), t -> assertThat(t).startsWith("HTTP/1.1 408"));
  }

  @Test
  void aSlowlorisClientIsCutAtReadHeaderTimeout() throws Exception {
    try (TestServer t = start(Duration.ofMillis(500), Duration.ofSeconds(30))) {
      long start = System.nanoTime();
      try (Conn c = t.connect()) {
        ScheduledFuture<?> dripping =
            slowly(c, "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + "a".repeat(40));
        assertNothingOr408(c.readUntilClosed(Duration.ofSeconds(5)));
        Duration cut = Duration.ofNanos(System.nanoTime() - start);
        dripping.cancel(false);
        assertThat(cut).isBetween(Duration.ofMillis(500), Duration.ofMillis(1500));
      }
    }
    assertThat(calls).hasValue(0);
  }

  @Test
  void aConnectionThatSendsNothingIsClosedAtReadHeaderTimeout() throws Exception {
    try (TestServer t = start(Duration.ofMillis(500), Duration.ofSeconds(30))) {
      long start = System.nanoTime();
      try (Conn c = t.connect()) {
        c.awaitClose(Duration.ofSeconds(5));
      }
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isBetween(Duration.ofMillis(450), Duration.ofMillis(1500));
    }
  }

  @Test
  void aSlowNextRequestOnAKeepAliveConnectionIsCutAtReadHeaderTimeout() throws Exception {
    try (TestServer t = start(Duration.ofMillis(500), Duration.ofSeconds(30));
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().status()).isEqualTo(200);
      long start = System.nanoTime();
      c.send("GET / HTTP/1.1\r\n");
      assertNothingOr408(c.readUntilClosed(Duration.ofSeconds(5)));
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isBetween(Duration.ofMillis(450), Duration.ofMillis(1500));
    }
  }

  @Test
  void anIdleKeepAliveConnectionIsClosedAtKeepAliveTimeout() throws Exception {
    try (TestServer t = start(Duration.ofSeconds(10), Duration.ofMillis(500));
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().status()).isEqualTo(200);
      long start = System.nanoTime();
      c.awaitClose(Duration.ofSeconds(5));
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isBetween(Duration.ofMillis(400), Duration.ofMillis(1500));
    }
  }

  @Test
  void keepAliveTimeoutDoesNotCutARunningHandler() throws Exception {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    try (TestServer t =
            TestServer.start(
                (req, res) -> {
                  if (req.path().equals("/slow")) release.await();
                  res.send("done");
                },
                b ->
                    b.readHeaderTimeout(Duration.ofMillis(300))
                        .keepAliveTimeout(Duration.ofMillis(300)));
        Conn c = t.connect()) {
      c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.staysSilentFor(Duration.ofMillis(900))).isTrue();
      release.countDown();
      assertThat(c.read().bodyText()).isEqualTo("done");
    }
  }

  @Test
  void aPartialNextRequestDoesNotCutTheResponseInProgress() throws Exception {
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    try (TestServer t =
            TestServer.start(
                (req, res) -> {
                  if (req.path().equals("/slow")) {
                    started.countDown();
                    release.await();
                  }
                  res.send(req.path());
                },
                b -> b.readHeaderTimeout(Duration.ofMillis(300)));
        Conn c = t.connect()) {
      c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
      c.send("GET /next HTTP/1.1\r\n"); // the start of a pipelined request
      assertThat(c.staysSilentFor(Duration.ofMillis(800))).as("no 408, no close").isTrue();
      release.countDown();
      assertThat(c.read().bodyText()).isEqualTo("/slow");
      c.send("Host: t\r\n\r\n");
      assertThat(c.read().bodyText()).isEqualTo("/next");
    }
  }
}
