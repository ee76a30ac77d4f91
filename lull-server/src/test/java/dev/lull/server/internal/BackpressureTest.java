package dev.lull.server.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.server.Awaits;
import dev.lull.server.Conn;
import dev.lull.server.Handler;
import dev.lull.server.RawHttp;
import dev.lull.server.Request;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Backpressure both ways, with the engine's own counters: a handler that does not read its body
 * stops the connection from reading, and a client that does not read blocks the handler's writes.
 * In this package to reach the connection's pending-bytes hook; the engine is built directly.
 */
class BackpressureTest {
  private static final int BLOCK = 64 * 1024;
  private TestEngine server;

  @AfterEach
  void stop() {
    if (server != null) server.close();
  }

  private int start(Handler handler, long maxBody) {
    server = TestEngine.start(handler, maxBody);
    return server.port();
  }

  /** Deterministic test data: block {@code i} of a long stream. */
  private static byte[] block(int i) {
    byte[] b = new byte[BLOCK];
    long x = 0x9E3779B97F4A7C15L * (i + 1);
    for (int k = 0; k < b.length; k++) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
      b[k] = (byte) x;
    }
    return b;
  }

  private static long crcOf(int blocks) {
    CRC32 crc = new CRC32();
    for (int i = 0; i < blocks; i++) crc.update(block(i));
    return crc.getValue();
  }

  @Test
  void aHandlerThatDoesNotReadStopsTheConnectionFromReading() throws Exception {
    int blocks = 800; // 50 MiB
    long total = (long) blocks * BLOCK;
    CompletableFuture<Request> waiting = new CompletableFuture<>();
    CountDownLatch readNow = new CountDownLatch(1);
    int port =
        start(
            (req, res) -> {
              waiting.complete(req);
              readNow.await();
              CRC32 crc = new CRC32();
              byte[] buf = new byte[BLOCK];
              long n = 0;
              InputStream in = req.body();
              for (int r; (r = in.read(buf)) >= 0; ) {
                crc.update(buf, 0, r);
                n += r;
              }
              res.send(n + " " + crc.getValue());
            },
            total);
    assertThat(port).isPositive();
    try (Conn c = server.connect(0)) {
      c.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + total + "\r\n\r\n");
      AtomicLong sent = new AtomicLong();
      CompletableFuture<Void> writer =
          CompletableFuture.runAsync(
              () -> {
                try {
                  for (int i = 0; i < blocks; i++) {
                    c.out.write(block(i));
                    sent.addAndGet(BLOCK);
                  }
                  c.out.flush();
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              },
              r -> Thread.ofVirtual().start(r));
      Request req = waiting.get(10, TimeUnit.SECONDS);

      assertThatThrownBy(() -> writer.get(1500, TimeUnit.MILLISECONDS))
          .as("the client's writes block")
          .isInstanceOf(TimeoutException.class);
      assertThat(sent.get()).isLessThan(total);
      assertThat(req.body().available())
          .as("bytes the server holds for the handler")
          .isLessThanOrEqualTo(HttpConnection.BODY_HIGH_WATER + 2 * BLOCK);
      assertThat(TestEngine.onLoop(server.connection(), HttpConnection::isReadingPaused)).isTrue();

      readNow.countDown();
      writer.get(30, TimeUnit.SECONDS);
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo(total + " " + crcOf(blocks));
    }
  }

  @Test
  void pipelinedRequestsQueueNoDeeperThanMaxWaiting() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    int port =
        start(
            (req, res) -> {
              if (req.path().equals("/0")) release.await();
              res.send(req.path());
            },
            0);
    assertThat(port).isPositive();
    try (Conn c = server.connect(0)) {
      StringBuilder all = new StringBuilder();
      for (int i = 0; i < 1000; i++)
        all.append("GET /").append(i).append(" HTTP/1.1\r\nHost: t\r\n\r\n");
      c.send(all.toString());
      HttpConnection conn = server.connection();
      Awaits.until(
          Duration.ofSeconds(5),
          "a full queue",
          () ->
              TestEngine.onLoop(conn, HttpConnection::waitingCount) >= HttpConnection.MAX_WAITING);
      assertThat(TestEngine.onLoop(conn, HttpConnection::waitingCount))
          .as("requests decoded ahead of the running one")
          .isEqualTo(HttpConnection.MAX_WAITING);
      assertThat(TestEngine.onLoop(conn, HttpConnection::isReadingPaused)).isTrue();
      release.countDown();
      for (int i = 0; i < 1000; i++) assertThat(c.read().bodyText()).isEqualTo("/" + i);
    }
  }

  @Test
  void aClientThatDoesNotReadBlocksTheHandler() throws Exception {
    int blocks = 1600; // 100 MiB
    long total = (long) blocks * BLOCK;
    AtomicLong written = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    int port =
        start(
            (req, res) -> {
              try (OutputStream out = res.body()) {
                for (int i = 0; i < blocks; i++) {
                  out.write(block(i));
                  written.addAndGet(BLOCK);
                }
              } finally {
                done.countDown();
              }
            },
            0);
    assertThat(port).isPositive();
    try (Conn c = server.connect(64 * 1024)) {
      c.send("GET /download HTTP/1.1\r\nHost: t\r\n\r\n");

      assertThat(done.await(1500, TimeUnit.MILLISECONDS)).as("handler finished").isFalse();
      assertThat(written.get()).isLessThan(total);
      HttpConnection conn = server.connection();
      assertThat(conn.pendingOutboundBytes())
          .as("bytes queued in the server for the client")
          .isLessThanOrEqualTo(256 * 1024);

      RawHttp.Response head = RawHttp.readHead(c.in);
      assertThat(head.status()).isEqualTo(200);
      CRC32 crc = new CRC32();
      long n = 0;
      for (byte[] chunk; (chunk = RawHttp.readChunk(c.in)) != null; ) {
        crc.update(chunk);
        n += chunk.length;
      }
      assertThat(n).isEqualTo(total);
      assertThat(crc.getValue()).isEqualTo(crcOf(blocks));
      assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
    }
  }
}
