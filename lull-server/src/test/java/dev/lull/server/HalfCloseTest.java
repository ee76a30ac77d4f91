package dev.lull.server;

import static dev.lull.core.CancellationCause.CLIENT_DISCONNECTED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.core.CancellationCause;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that shuts down its output after a whole request (half-close) still gets its response;
 * one that closes is cancelled. The server tells them apart with an interim {@code 100 Continue}:
 * seeing it proves the server had the end of input while the handler ran.
 */
class HalfCloseTest {
  private static final String CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";

  private final CountDownLatch started = new CountDownLatch(1);
  private final CountDownLatch go = new CountDownLatch(1);
  private final CompletableFuture<CancellationCause> causeAtEnd = new CompletableFuture<>();

  /** /wait blocks until the test says go; anything else answers at once. */
  private final Handler handler =
      (req, res) -> {
        if (req.path().equals("/wait")) {
          started.countDown();
          try {
            assertThat(go.await(30, TimeUnit.SECONDS)).isTrue();
          } finally {
            causeAtEnd.complete(req.context().cause().orElse(null));
          }
        }
        res.send("answered " + req.path() + "\n");
      };

  private static String readExactly(InputStream in, int n) throws IOException {
    return new String(in.readNBytes(n), StandardCharsets.ISO_8859_1);
  }

  @Test
  void aClientThatHalfClosesAfterItsRequestGetsTheResponse() throws Exception {
    try (TestServer t = TestServer.start(handler);
        Conn c = t.connect()) {
      c.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
      c.socket.shutdownOutput();
      // The server saw the end of input while the handler ran, and did not take it for a close.
      assertThat(readExactly(c.in, CONTINUE.length())).isEqualTo(CONTINUE);
      go.countDown();
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("answered /wait\n");
      assertThat(r.header("connection")).contains("close");
      c.awaitClose(Duration.ofSeconds(5));
      assertThat(causeAtEnd.get(10, TimeUnit.SECONDS)).isNull();
      for (CancellationCause cause : CancellationCause.values()) {
        assertThat(t.server.engine().cancellations(cause)).isZero();
      }
    }
  }

  @Test
  void pipelinedRequestsBeforeAHalfCloseAreAllServed() throws Exception {
    try (TestServer t = TestServer.start(handler);
        Conn c = t.connect()) {
      c.send(
          "GET /wait HTTP/1.1\r\nHost: t\r\n\r\n"
              + "GET /2 HTTP/1.1\r\nHost: t\r\n\r\n"
              + "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n");
      c.socket.shutdownOutput();
      assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(readExactly(c.in, CONTINUE.length())).isEqualTo(CONTINUE);
      go.countDown();
      assertThat(c.read().bodyText()).isEqualTo("answered /wait\n");
      assertThat(c.read().bodyText()).isEqualTo("answered /2\n");
      RawHttp.Response last = c.read();
      assertThat(last.bodyText()).isEqualTo("answered /3\n");
      assertThat(last.header("connection")).contains("close");
      c.awaitClose(Duration.ofSeconds(5));
    }
  }

  @Test
  void anIdleConnectionWhoseClientHalfClosesIsClosed() throws Exception {
    try (TestServer t = TestServer.start(handler);
        Conn c = t.connect()) {
      c.send("GET /1 HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.header("connection")).isEmpty(); // kept alive
      c.socket.shutdownOutput();
      c.awaitClose(Duration.ofSeconds(5));
    }
  }

  @Test
  void aClientThatHalfClosesInTheMiddleOfABodyIsGone() throws Exception {
    CompletableFuture<Throwable> readFailure = new CompletableFuture<>();
    CompletableFuture<CancellationCause> cause = new CompletableFuture<>();
    Handler reader =
        (req, res) -> {
          started.countDown();
          try {
            req.body().readAllBytes();
          } catch (IOException e) {
            readFailure.complete(e);
            cause.complete(req.context().cause().orElse(null));
            throw e;
          }
          res.send("read it all\n");
        };
    try (TestServer t = TestServer.start(reader);
        Conn c = t.connect()) {
      c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
      assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
      c.socket.shutdownOutput();
      assertThat(readFailure.get(10, TimeUnit.SECONDS)).isInstanceOf(IOException.class);
      assertThat(cause.get()).isEqualTo(CLIENT_DISCONNECTED);
      assertThat(c.readUntilClosed(Duration.ofSeconds(5))).isEmpty();
    }
  }

  @Test
  void onAUnixSocketAHalfCloseIsServedAndACloseCancels(@TempDir Path dir) throws Exception {
    Path sock = dir.resolve("s.sock");
    try (Server server =
        Server.builder().listen("unix:" + sock).handler(handler).ioThreads(1).build().start()) {
      // Half-close: served.
      try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
        OutputStream out = Channels.newOutputStream(ch);
        InputStream in = Channels.newInputStream(ch);
        out.write("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        ch.shutdownOutput();
        assertThat(readExactly(in, CONTINUE.length())).isEqualTo(CONTINUE);
        go.countDown();
        RawHttp.Response r = RawHttp.read(in);
        assertThat(r.bodyText()).isEqualTo("answered /wait\n");
        assertThat(causeAtEnd.get(10, TimeUnit.SECONDS)).isNull();
      }
      // Close: cancelled (the probe's write fails at once on a Unix socket).
      CountDownLatch blocked = new CountDownLatch(1);
      CompletableFuture<CancellationCause> cancelled = new CompletableFuture<>();
      try (Server second =
          Server.builder()
              .listen("unix:" + dir.resolve("t.sock"))
              .handler(
                  (req, res) -> {
                    blocked.countDown();
                    try {
                      Thread.sleep(Duration.ofSeconds(30));
                    } finally {
                      cancelled.complete(req.context().cause().orElse(null));
                    }
                  })
              .ioThreads(1)
              .build()
              .start()) {
        SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(dir.resolve("t.sock")));
        Channels.newOutputStream(ch)
            .write("GET / HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(blocked.await(10, TimeUnit.SECONDS)).isTrue();
        ch.close();
        assertThat(cancelled.get(10, TimeUnit.SECONDS)).isEqualTo(CLIENT_DISCONNECTED);
        assertThat(second.engine().cancellations(CLIENT_DISCONNECTED)).isEqualTo(1);
      }
    } finally {
      Files.deleteIfExists(sock);
    }
  }
}
