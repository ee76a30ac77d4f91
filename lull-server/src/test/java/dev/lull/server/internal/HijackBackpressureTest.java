package dev.lull.server.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.server.Awaits;
import dev.lull.server.Conn;
import dev.lull.server.Hijacked;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
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
 * Backpressure on a hijacked connection, both ways: the socket is not read while the handler does
 * not read its input, and the handler's writes block while the client does not read.
 */
class HijackBackpressureTest {
  private static final int BLOCK = 64 * 1024;
  private static final String UPGRADE =
      "GET /raw HTTP/1.1\r\nHost: t\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n";
  private TestEngine server;

  @AfterEach
  void stop() {
    if (server != null) server.close();
  }

  private static byte[] block(int i) {
    byte[] b = new byte[BLOCK];
    ByteBuffer.wrap(b).putInt(0, i);
    for (int k = 4; k < b.length; k++) b[k] = (byte) (k * 31 + i);
    return b;
  }

  private static long crcOf(int blocks) {
    CRC32 crc = new CRC32();
    for (int i = 0; i < blocks; i++) crc.update(block(i));
    return crc.getValue();
  }

  @Test
  void aHandlerThatDoesNotReadStopsTheSocketFromBeingRead() throws Exception {
    int blocks = 800; // 50 MiB
    CountDownLatch readNow = new CountDownLatch(1);
    CompletableFuture<String> result = new CompletableFuture<>();
    server =
        TestEngine.start(
            (req, res) -> {
              try (Hijacked conn = res.hijack()) {
                readNow.await();
                CRC32 crc = new CRC32();
                byte[] buf = new byte[BLOCK];
                long n = 0;
                InputStream in = conn.input();
                for (int r; (r = in.read(buf)) >= 0; ) {
                  crc.update(buf, 0, r);
                  n += r;
                }
                result.complete(n + " " + crc.getValue());
                conn.output().write((n + " " + crc.getValue()).getBytes());
              }
            },
            0);
    try (Conn c = server.connect(0)) {
      c.send(UPGRADE);
      AtomicLong sent = new AtomicLong();
      CompletableFuture<Void> writer =
          CompletableFuture.runAsync(
              () -> {
                try {
                  for (int i = 0; i < blocks; i++) {
                    c.out.write(block(i));
                    sent.addAndGet(BLOCK);
                  }
                  c.socket.shutdownOutput();
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              },
              r -> Thread.ofVirtual().start(r));
      HttpConnection conn = server.connection();
      Awaits.until(
          Duration.ofSeconds(10),
          "hijacked, reading paused",
          () ->
              TestEngine.onLoop(conn, x -> x.hijacked() != null && x.hijacked().isReadingPaused()));
      assertThatThrownBy(() -> writer.get(1000, TimeUnit.MILLISECONDS))
          .as("the client's writes block")
          .isInstanceOf(TimeoutException.class);
      assertThat(sent.get()).isLessThan((long) blocks * BLOCK);
      assertThat(TestEngine.<Integer>onLoop(conn, x -> x.hijacked().buffered()))
          .as("bytes held for the handler")
          .isLessThanOrEqualTo(HttpConnection.BODY_HIGH_WATER + 2 * BLOCK);

      readNow.countDown();
      writer.get(30, TimeUnit.SECONDS);
      String expected = ((long) blocks * BLOCK) + " " + crcOf(blocks);
      assertThat(result.get(30, TimeUnit.SECONDS)).isEqualTo(expected);
      assertThat(new String(c.readUntilClosed(Duration.ofSeconds(10)))).isEqualTo(expected);
    }
  }

  @Test
  void aClientThatShutsDownItsOutputWhileReadingIsPausedIsReadToTheEnd() throws Exception {
    CountDownLatch readNow = new CountDownLatch(1);
    server =
        TestEngine.start(
            (req, res) -> {
              try (Hijacked conn = res.hijack()) {
                readNow.await();
                long n = conn.input().transferTo(OutputStream.nullOutputStream());
                conn.output().write(("read " + n).getBytes());
              }
            },
            0);
    try (Conn c = server.connect(0)) {
      c.send(UPGRADE);
      c.send(new byte[4 * HttpConnection.BODY_HIGH_WATER]);
      c.socket.shutdownOutput();
      HttpConnection conn = server.connection();
      Awaits.until(
          Duration.ofSeconds(10),
          "hijacked, reading paused",
          () ->
              TestEngine.onLoop(conn, x -> x.hijacked() != null && x.hijacked().isReadingPaused()));
      readNow.countDown(); // reading resumes below the low-water mark, after the end arrived
      assertThat(new String(c.readUntilClosed(Duration.ofSeconds(10))))
          .isEqualTo("read " + 4 * HttpConnection.BODY_HIGH_WATER);
    }
  }

  @Test
  void aClientThatDoesNotReadBlocksTheHandlersWrites() throws Exception {
    int blocks = 800; // 50 MiB
    AtomicLong written = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    server =
        TestEngine.start(
            (req, res) -> {
              try (Hijacked conn = res.hijack()) {
                OutputStream out = conn.output();
                for (int i = 0; i < blocks; i++) {
                  out.write(block(i));
                  written.addAndGet(BLOCK);
                }
              } finally {
                done.countDown();
              }
            },
            0);
    try (Conn c = server.connect(64 * 1024)) {
      c.send(UPGRADE);
      assertThat(done.await(1500, TimeUnit.MILLISECONDS)).as("handler finished").isFalse();
      assertThat(written.get()).isLessThan((long) blocks * BLOCK);
      assertThat(server.connection().pendingOutboundBytes())
          .as("bytes queued in the server for the client")
          .isLessThanOrEqualTo(256 * 1024);

      CRC32 crc = new CRC32();
      long n = 0;
      byte[] buf = new byte[BLOCK];
      c.socket.setSoTimeout(30_000);
      for (int r; (r = c.in.read(buf)) >= 0; ) {
        crc.update(buf, 0, r);
        n += r;
      }
      assertThat(n).isEqualTo((long) blocks * BLOCK);
      assertThat(crc.getValue()).isEqualTo(crcOf(blocks));
      assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
    }
  }
}
