package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ResponseTest {
  @Test
  void aSmallBodyGoesOutWithContentLength() throws Exception {
    Handler h =
        (req, res) -> {
          if (req.path().equals("/send")) {
            res.header("Content-Type", "text/x-test")
                .send("hello".getBytes(StandardCharsets.UTF_8));
          } else {
            try (OutputStream out = res.body()) {
              out.write("hel".getBytes(StandardCharsets.UTF_8));
              out.write("lo".getBytes(StandardCharsets.UTF_8));
            }
          }
        };
    try (TestServer t = TestServer.start(h);
        Conn c = t.connect()) {
      for (String path : new String[] {"/send", "/stream"}) {
        c.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n");
        RawHttp.Response r = c.read();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("content-length")).hasValue("5");
        assertThat(r.header("transfer-encoding")).isEmpty();
        assertThat(r.header("date")).isPresent();
        assertThat(r.bodyText()).isEqualTo("hello");
      }
    }
  }

  @Test
  void flushSendsAChunkBeforeTheHandlerWritesTheNext() throws Exception {
    CountDownLatch firstChunkRead = new CountDownLatch(1);
    Handler h =
        (req, res) -> {
          OutputStream out = res.body();
          out.write("first".getBytes(StandardCharsets.UTF_8));
          out.flush();
          if (!firstChunkRead.await(10, TimeUnit.SECONDS)) throw new IllegalStateException();
          out.write("second".getBytes(StandardCharsets.UTF_8));
        };
    try (TestServer t = TestServer.start(h);
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response head = RawHttp.readHead(c.in);
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("transfer-encoding")).hasValue("chunked");
      assertThat(head.header("content-length")).isEmpty();
      assertThat(new String(RawHttp.readChunk(c.in), StandardCharsets.UTF_8)).isEqualTo("first");
      firstChunkRead.countDown();
      assertThat(new String(RawHttp.readChunk(c.in), StandardCharsets.UTF_8)).isEqualTo("second");
      assertThat(RawHttp.readChunk(c.in)).isNull();
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().bodyText()).isEqualTo("firstsecond");
    }
  }

  @Test
  void aHandlerSetContentLengthStreamsWithoutChunking() throws Exception {
    byte[] data = new byte[100_000];
    for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 31);
    Handler h =
        (req, res) -> {
          res.header("Content-Length", String.valueOf(data.length));
          try (OutputStream out = res.body()) {
            for (int off = 0; off < data.length; off += 10_000) out.write(data, off, 10_000);
          }
        };
    try (TestServer t = TestServer.start(h);
        Conn c = t.connect()) {
      for (int i = 0; i < 2; i++) {
        c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        RawHttp.Response r = c.read();
        assertThat(r.header("content-length")).hasValue("100000");
        assertThat(r.header("transfer-encoding")).isEmpty();
        assertThat(Arrays.equals(r.body(), data)).isTrue();
      }
    }
  }

  @Test
  void aBodyShorterThanItsContentLengthClosesTheConnection() throws Exception {
    Handler h =
        (req, res) -> {
          res.header("Content-Length", "100000");
          OutputStream out = res.body();
          out.write(new byte[50_000]);
          out.close();
        };
    try (TestServer t = TestServer.start(h);
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.complete()).isFalse();
      c.awaitClose(java.time.Duration.ofSeconds(5));
    }
  }

  @Test
  void aStreamedBodyForHttp10EndsWithTheConnection() throws Exception {
    Handler h =
        (req, res) -> {
          OutputStream out = res.body();
          out.write("abc".getBytes(StandardCharsets.UTF_8));
          out.flush();
          out.write("def".getBytes(StandardCharsets.UTF_8));
        };
    try (TestServer t = TestServer.start(h);
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.header("transfer-encoding")).isEmpty();
      assertThat(r.header("content-length")).isEmpty();
      assertThat(r.bodyText()).isEqualTo("abcdef");
    }
  }

  @Test
  void statusAndHeadersAreSent() throws Exception {
    Handler h =
        (req, res) -> {
          res.status(201).header("X-One", "1").addHeader("X-Many", "a").addHeader("X-Many", "b");
          res.send("made");
        };
    try (TestServer t = TestServer.start(h);
        Conn c = t.connect()) {
      c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(201);
      assertThat(r.headers().get("x-many")).containsExactly("a", "b");
      assertThat(r.header("x-one")).hasValue("1");
    }
  }

  @Test
  void aHandlerThatSendsNothingGetsAnEmptyResponse() throws Exception {
    try (TestServer t = TestServer.start((req, res) -> res.status(204));
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(204);
      assertThat(r.header("content-length")).isEmpty();
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().status()).isEqualTo(204);
    }
  }

  @Test
  void headerValuesCannotSplitTheResponse() throws Exception {
    Handler h =
        (req, res) -> {
          try {
            res.header("X-Evil", "a\r\nSet-Cookie: x=1");
            res.send("accepted");
          } catch (IllegalArgumentException e) {
            res.send(400, "rejected");
          }
        };
    try (TestServer t = TestServer.start(h);
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.bodyText()).isEqualTo("rejected");
      assertThat(r.header("set-cookie")).isEmpty();
    }
  }

  @Test
  void aHandlerCanCloseTheConnection() throws Exception {
    try (TestServer t =
            TestServer.start((req, res) -> res.header("Connection", "close").send("bye"));
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.bodyText()).isEqualTo("bye");
      assertThat(r.header("connection")).hasValue("close");
      c.awaitClose(java.time.Duration.ofSeconds(5));
    }
  }

  @Test
  void interimStatusesAreNotFinalResponses() throws Exception {
    Handler h =
        (req, res) -> {
          try {
            res.status(101);
            res.send("accepted");
          } catch (IllegalArgumentException e) {
            res.send(e.getMessage());
          }
        };
    try (TestServer t = TestServer.start(h);
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).contains("101");
    }
  }
}
