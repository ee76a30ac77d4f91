package dev.lull.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.server.Awaits;
import dev.lull.server.Conn;
import dev.lull.server.RawHttp;
import io.netty.channel.socket.DuplexChannel;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A connection that closes while the client is still sending must not reset it: a reset throws away
 * the response bytes the kernel has not sent yet. The server shuts its output down instead, drops
 * the input, and closes once the client has closed (or a second later).
 */
class ClosingTest {
  private static final byte[] ANSWER = new byte[512 * 1024];

  static {
    Arrays.fill(ANSWER, (byte) 'r');
  }

  @Test
  void aResponseThatClosesWhileTheClientSendsArrivesWhole() throws Exception {
    // The handler answers without reading a 50 MB body, too big to drain: the connection closes.
    try (TestEngine server = TestEngine.start((req, res) -> res.send(ANSWER), 100_000_000);
        Conn c = server.connect(64 * 1024)) {
      c.send("POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: 50000000\r\n\r\n");
      CompletableFuture.runAsync(
          () -> {
            byte[] block = new byte[64 * 1024];
            try {
              for (int i = 0; i < 800; i++) c.out.write(block);
            } catch (IOException e) {
              // the server stopped taking the body: expected
            }
          },
          r -> Thread.ofVirtual().start(r));
      HttpConnection conn = server.connection();
      // Read only once the server is done with the connection, its response still unsent.
      Awaits.until(
          Duration.ofSeconds(5),
          "the server ends its side",
          () -> !conn.channel.isActive() || ((DuplexChannel) conn.channel).isOutputShutdown());
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.header("connection")).hasValue("close");
      assertThat(r.body().length).isEqualTo(ANSWER.length);
      c.awaitClose(Duration.ofSeconds(5));
    }
  }

  @Test
  void bodiesOfPipelinedRequestsThatNeverRanAreReleased() throws Exception {
    // The leak check after this class fails if their buffers are not released.
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    try (TestEngine server =
        TestEngine.start(
            (req, res) -> {
              if (req.path().equals("/block")) release.await();
              res.send("ok");
            },
            1_000_000)) {
      try (Conn c = server.connect(0)) {
        StringBuilder all = new StringBuilder("GET /block HTTP/1.1\r\nHost: t\r\n\r\n");
        for (int i = 0; i < 5; i++) {
          all.append("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n")
              .append("x".repeat(1000));
        }
        c.send(all.toString());
        HttpConnection conn = server.connection();
        Awaits.until(
            Duration.ofSeconds(5),
            "five requests waiting",
            () -> TestEngine.onLoop(conn, HttpConnection::waitingCount) == 5);
      }
      Awaits.until(
          Duration.ofSeconds(5),
          "the connection closed",
          () -> server.engine.connections.isEmpty());
      release.countDown();
    }
  }
}
