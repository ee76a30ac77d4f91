package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@code Expect: 100-continue}: the interim response is sent when the handler first reads the body.
 * A handler that answers without reading gets its response sent and the connection closed: the
 * client may or may not send the body it announced, so the next bytes could not be framed safely.
 */
class ExpectContinueTest {
  private static final String HEAD =
      "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";

  @Test
  void continueIsSentOnlyWhenTheHandlerReadsTheBody() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch read = new CountDownLatch(1);
    Handler handler =
        (req, res) -> {
          if (req.method().equals("GET")) {
            res.send("get");
            return;
          }
          started.countDown();
          read.await();
          res.send("got " + new String(req.body().readAllBytes(), StandardCharsets.UTF_8));
        };
    try (TestServer t = TestServer.start(handler);
        Conn c = t.connect()) {
      c.send(HEAD);
      assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
      assertThat(c.staysSilentFor(Duration.ofMillis(300))).as("no 100 before the read").isTrue();
      read.countDown();
      RawHttp.Response interim = RawHttp.readHead(c.in);
      assertThat(interim.status()).isEqualTo(100);
      c.send("hello");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("got hello");
      assertThat(r.header("connection")).isEmpty();
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().bodyText()).isEqualTo("get");
    }
  }

  @Test
  void aHandlerThatAnswersWithoutReadingClosesTheConnection() throws Exception {
    try (TestServer t = TestServer.start((req, res) -> res.send(403, "no"));
        Conn c = t.connect()) {
      c.send(HEAD);
      RawHttp.Response r = RawHttp.read(c.in);
      assertThat(r.status()).isEqualTo(403);
      assertThat(r.bodyText()).isEqualTo("no");
      assertThat(r.header("connection")).hasValueSatisfying(v -> v.equalsIgnoreCase("close"));
      c.awaitClose(Duration.ofSeconds(5));
    }
  }

  @Test
  void aBodySentWithoutWaitingIsReadAndTheConnectionKept() throws Exception {
    Handler handler =
        (req, res) -> res.send(new String(req.body().readAllBytes(), StandardCharsets.UTF_8));
    try (TestServer t = TestServer.start(handler);
        Conn c = t.connect()) {
      c.send(HEAD + "hello");
      RawHttp.Response r = c.read(); // skips a 100 if one was sent
      assertThat(r.bodyText()).isEqualTo("hello");
      c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().status()).isEqualTo(200);
    }
  }

  @Test
  void anUnsupportedExpectationGets417AndNoHandler() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    try (TestServer t =
            TestServer.start(
                (req, res) -> {
                  calls.incrementAndGet();
                  res.send("ok");
                });
        Conn c = t.connect()) {
      c.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: teapot\r\n\r\nhello");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(417);
      c.awaitClose(Duration.ofSeconds(5));
    }
    assertThat(calls).hasValue(0);
  }

  @Test
  void noContinueFollowsAResponseHeadAlreadySent() throws Exception {
    Handler h =
        (req, res) -> {
          java.io.OutputStream out = res.body();
          out.write('>');
          out.flush();
          out.write(req.body().readAllBytes());
        };
    try (TestServer t = TestServer.start(h);
        Conn c = t.connect()) {
      c.send(HEAD);
      RawHttp.Response head = RawHttp.readHead(c.in);
      assertThat(head.status()).isEqualTo(200);
      assertThat(new String(RawHttp.readChunk(c.in), StandardCharsets.UTF_8)).isEqualTo(">");
      c.send("hello");
      assertThat(new String(RawHttp.readChunk(c.in), StandardCharsets.UTF_8)).isEqualTo("hello");
      assertThat(RawHttp.readChunk(c.in)).isNull();
    }
  }
}
