package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.ConnectionState;
import dev.lull.core.Termination;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link Response#hijack()}: raw bytes both ways, states, and what a stop does with it. */
class HijackTest {
  private static final String UPGRADE =
      "GET /raw HTTP/1.1\r\nHost: t\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n";

  /** Writes a 101 head itself, then echoes lines until the client shuts down its side. */
  static final Handler ECHO =
      (req, res) -> {
        try (Hijacked conn = res.hijack()) {
          OutputStream out = conn.output();
          out.write(
              "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
          BufferedReader in =
              new BufferedReader(new InputStreamReader(conn.input(), StandardCharsets.UTF_8));
          for (String line; (line = in.readLine()) != null; ) {
            out.write(("echo " + line + "\r\n").getBytes(StandardCharsets.UTF_8));
          }
          out.write("bye\r\n".getBytes(StandardCharsets.UTF_8));
        }
      };

  private final Recorder rec = new Recorder();
  private TestServer t;

  @AfterEach
  void close() {
    if (t != null) t.close();
  }

  private void start(Handler handler) {
    t = TestServer.start(handler, b -> b.connectionListener(rec.connections()));
  }

  private static void read101(Conn c) throws IOException {
    assertThat(RawHttp.readLine(c.in)).isEqualTo("HTTP/1.1 101 Switching Protocols");
    assertThat(RawHttp.readLine(c.in)).isEqualTo("Connection: Upgrade");
    assertThat(RawHttp.readLine(c.in)).isEqualTo("Upgrade: echo");
    assertThat(RawHttp.readLine(c.in)).isEmpty();
  }

  @Test
  void bytesFlowRawBothWaysAndTheStatesAreNewActiveHijackedClosed() throws Exception {
    start(ECHO);
    try (Conn c = t.connect()) {
      // The first line travels with the request, before the client has seen the 101: it must
      // reach the handler as raw bytes, not be parsed as the next request.
      c.send(UPGRADE + "first\n");
      read101(c);
      assertThat(RawHttp.readLine(c.in)).isEqualTo("echo first");
      c.send("GET / HTTP/1.1\n"); // HTTP is over on this connection: just a line now
      assertThat(RawHttp.readLine(c.in)).isEqualTo("echo GET / HTTP/1.1");
      assertThat(t.server.activity().counts().hijacked()).isEqualTo(1);

      c.socket.shutdownOutput(); // half-close: the handler reads the end, answers, closes
      assertThat(RawHttp.readLine(c.in)).isEqualTo("bye");
      assertThat(c.in.read()).isEqualTo(-1);
    }
    rec.await("conn 1 CLOSED");
    assertThat(rec.states(1))
        .containsExactly(
            ConnectionState.NEW,
            ConnectionState.ACTIVE,
            ConnectionState.HIJACKED,
            ConnectionState.CLOSED);
  }

  @Test
  void aRequestThatAsksForAnUpgradeIsAnsweredNormallyIfTheHandlerDoesNotHijack() throws Exception {
    start((req, res) -> res.send("no upgrade for " + req.path()));
    try (Conn c = t.connect()) {
      // The second request waits undecoded while the first (with Upgrade) runs, then is served.
      c.send(UPGRADE + "GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().bodyText()).isEqualTo("no upgrade for /raw");
      assertThat(c.read().bodyText()).isEqualTo("no upgrade for /next");
    }
  }

  @Test
  void hijackFailsWhenTheClientSentMoreHttpAfterARequestWithoutUpgrade() throws Exception {
    start(
        (req, res) -> {
          if (req.path().equals("/b")) {
            res.send("b");
            return;
          }
          try {
            res.hijack();
            res.send("hijacked");
          } catch (IllegalStateException e) {
            res.send(409, e.getMessage());
          }
        });
    try (Conn c = t.connect()) {
      // Sent in one write, read by the server in one read: the second request is decoded before
      // the handler asks for the connection.
      c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response first = c.read();
      assertThat(first.status()).isEqualTo(409);
      assertThat(first.bodyText()).startsWith("cannot hijack: the client sent more HTTP");
      assertThat(c.read().bodyText()).isEqualTo("b"); // HTTP goes on
    }
  }

  @Test
  void hijackAfterTheResponseWasCommittedFails() throws Exception {
    CompletableFuture<Throwable> failure = new CompletableFuture<>();
    start(
        (req, res) -> {
          OutputStream body = res.body();
          body.write("x".getBytes());
          body.flush();
          try {
            res.hijack();
          } catch (IllegalStateException e) {
            failure.complete(e);
          }
        });
    try (Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().bodyText()).isEqualTo("x");
    }
    assertThat(failure.get(10, TimeUnit.SECONDS))
        .hasMessageContaining("response already committed");
  }

  @Test
  void theHandlerMayReturnAndLeaveTheConnectionOpenForAnotherThread() throws Exception {
    CompletableFuture<Hijacked> taken = new CompletableFuture<>();
    start(
        (req, res) -> {
          taken.complete(res.hijack());
        });
    try (Conn c = t.connect()) {
      c.send(UPGRADE);
      Hijacked h = taken.get(10, TimeUnit.SECONDS);
      // Lull sent nothing of its own, and does not close the connection when the handler returns.
      h.output().write("raw\r\n".getBytes());
      assertThat(RawHttp.readLine(c.in)).isEqualTo("raw");
      c.send("ping\n");
      byte[] got = new byte[5];
      assertThat(h.input().readNBytes(got, 0, 5)).isEqualTo(5);
      assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo("ping\n");
      assertThat(t.server.activity().counts().hijacked()).isEqualTo(1);
      h.close();
      assertThat(c.in.read()).isEqualTo(-1);
    }
  }

  @Test
  void whatAnAbandonedHijackedConnectionBufferedIsReleasedWhenItIsClosed() throws Exception {
    CompletableFuture<Hijacked> taken = new CompletableFuture<>();
    start(
        (req, res) -> {
          taken.complete(res.hijack()); // and nobody reads it (the leak check runs after the class)
        });
    try (Conn c = t.connect()) {
      c.send(UPGRADE + "x".repeat(100_000));
      Hijacked h = taken.get(10, TimeUnit.SECONDS);
      Awaits.until(Duration.ofSeconds(10), "bytes buffered", () -> availableQuietly(h) > 0);
      t.server.stopNow().get(10, TimeUnit.SECONDS); // force-closes it
      c.awaitClose(Duration.ofSeconds(10));
      assertThat(availableQuietly(h)).isZero();
      assertThatThrownBy(() -> h.input().read()).isInstanceOf(IOException.class);
    }
  }

  private static int availableQuietly(Hijacked h) {
    try {
      return h.input().available();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void stopWaitsForAHijackedConnectionOnlyUntilStopTimeoutThenCancelsAndForceClosesIt()
      throws Exception {
    CompletableFuture<Throwable> handlerSaw = new CompletableFuture<>();
    t =
        TestServer.start(
            (req, res) -> {
              try (Hijacked conn = res.hijack()) {
                conn.output().write("HTTP/1.1 101 Switching Protocols\r\n\r\n".getBytes());
                conn.input().read(); // the client never sends: blocks until cancelled
                handlerSaw.complete(null);
              } catch (IOException e) {
                handlerSaw.complete(e);
              }
            },
            b ->
                b.stopTimeout(Duration.ofMillis(300))
                    .killTimeout(Duration.ofMillis(300))
                    .connectionListener(rec.connections()));
    try (Conn c = t.connect()) {
      c.send(UPGRADE);
      assertThat(RawHttp.readLine(c.in)).isEqualTo("HTTP/1.1 101 Switching Protocols");
      assertThat(RawHttp.readLine(c.in)).isEmpty();
      long start = System.nanoTime();
      Termination end = t.server.stop().get(10, TimeUnit.SECONDS);
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(300));
      // The handler was interrupted at the stop timeout and closed the connection itself.
      assertThat(handlerSaw.get(10, TimeUnit.SECONDS))
          .isInstanceOf(java.io.InterruptedIOException.class);
      assertThat(end.graceful()).isFalse();
      assertThat(end.cancelled()).isEqualTo(1);
      assertThat(c.in.read()).isEqualTo(-1);
    }
  }

  @Test
  void aHijackedConnectionWhoseHandlerIgnoresTheStopIsForceClosedAfterKillTimeout()
      throws Exception {
    CompletableFuture<Hijacked> taken = new CompletableFuture<>();
    t =
        TestServer.start(
            (req, res) -> {
              taken.complete(res.hijack()); // handed off: nothing to cancel
            },
            b -> b.stopTimeout(Duration.ofMillis(200)).killTimeout(Duration.ofMillis(200)));
    try (Conn c = t.connect()) {
      c.send(UPGRADE);
      taken.get(10, TimeUnit.SECONDS);
      long start = System.nanoTime();
      Termination end = t.server.stop().get(10, TimeUnit.SECONDS);
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isGreaterThanOrEqualTo(Duration.ofMillis(400));
      assertThat(end.forceClosed()).isEqualTo(1);
      assertThat(end.graceful()).isFalse();
      c.awaitClose(Duration.ofSeconds(5));
    }
  }
}
