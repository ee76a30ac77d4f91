package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Oversized and malformed requests: each gets its 4xx (or 505), then the connection is closed; the
 * handler never sees a request whose head was bad.
 */
class LimitsTest {
  private final AtomicInteger calls = new AtomicInteger();
  private TestServer server;

  @BeforeEach
  void start() {
    Handler h =
        (req, res) -> {
          calls.incrementAndGet();
          byte[] body = req.body().readAllBytes();
          res.send("read " + body.length);
        };
    server =
        TestServer.start(h, b -> b.maxRequestLineLength(256).maxHeaderSize(1024).maxBodySize(1000));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** Sends {@code request} from another thread (the server may stop reading it) and reads. */
  private RawHttp.Response answerTo(Conn c, String request) throws IOException {
    CompletableFuture.runAsync(
        () -> {
          try {
            c.out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            c.out.flush();
          } catch (IOException e) {
            // the server may close before it read everything: the response is what matters
          }
        },
        r -> Thread.ofVirtual().start(r));
    return c.read();
  }

  private void expectStatusAndClose(String request, int... statuses) throws IOException {
    try (Conn c = server.connect()) {
      RawHttp.Response r = answerTo(c, request);
      assertThat(r.status()).isIn(box(statuses));
      assertThat(r.header("connection")).hasValueSatisfying(v -> v.equalsIgnoreCase("close"));
      c.awaitClose(Duration.ofSeconds(5));
    }
  }

  private static Integer[] box(int[] a) {
    Integer[] b = new Integer[a.length];
    for (int i = 0; i < a.length; i++) b[i] = a[i];
    return b;
  }

  @Test
  void aRequestLineOverTheLimitGets414() throws IOException {
    expectStatusAndClose("GET /" + "a".repeat(300) + " HTTP/1.1\r\nHost: t\r\n\r\n", 414);
    assertThat(calls).hasValue(0);
  }

  @Test
  void aHugeRequestLineStillGets414BeforeTheClose() throws IOException {
    // The client is still sending when the server answers: the answer must not be lost to a reset.
    expectStatusAndClose("GET /" + "a".repeat(2_000_000) + " HTTP/1.1\r\nHost: t\r\n\r\n", 414);
    assertThat(calls).hasValue(0);
  }

  @Test
  void headersOverTheLimitGet431() throws IOException {
    StringBuilder req = new StringBuilder("GET / HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 60; i++)
      req.append("X-Filler-").append(i).append(": ").append("v".repeat(20)).append("\r\n");
    expectStatusAndClose(req.append("\r\n").toString(), 431);
    assertThat(calls).hasValue(0);
  }

  @Test
  void aDeclaredBodyOverTheLimitGets413WithoutTheHandler() throws IOException {
    expectStatusAndClose(
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + "b".repeat(5000), 413);
    assertThat(calls).hasValue(0);
  }

  @Test
  void aChunkedBodyThatGrowsOverTheLimitGets413() throws IOException {
    StringBuilder req =
        new StringBuilder("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 20; i++) req.append("1f4\r\n").append("c".repeat(500)).append("\r\n");
    req.append("0\r\n\r\n");
    expectStatusAndClose(req.toString(), 413);
  }

  @Test
  void aBodyAtTheLimitIsAccepted() throws IOException {
    try (Conn c = server.connect()) {
      RawHttp.Response r =
          answerTo(
              c, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + "b".repeat(1000));
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).isEqualTo("read 1000");
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          garbage line                  | garbage\\r\\n\\r\\n                                               | 400
          no version                    | GET /\\r\\nHost: t\\r\\n\\r\\n                                    | 400
          HTTP/2.0                      | GET / HTTP/2.0\\r\\nHost: t\\r\\n\\r\\n                           | 505
          HTTP/1.2                      | GET / HTTP/1.2\\r\\nHost: t\\r\\n\\r\\n                           | 505
          HTTP/0.9                      | GET / HTTP/0.9\\r\\nHost: t\\r\\n\\r\\n                           | 505
          not HTTP                      | GET / FOO/1.1\\r\\nHost: t\\r\\n\\r\\n                            | 400
          bare LF                       | GET / HTTP/1.1\\nHost: t\\n\\n                                    | 400
          missing Host                  | GET / HTTP/1.1\\r\\n\\r\\n                                        | 400
          two Hosts                     | GET / HTTP/1.1\\r\\nHost: a\\r\\nHost: b\\r\\n\\r\\n              | 400
          conflicting Content-Length    | POST / HTTP/1.1\\r\\nHost: t\\r\\nContent-Length: 5\\r\\nContent-Length: 6\\r\\n\\r\\nhello! | 400
          negative Content-Length       | POST / HTTP/1.1\\r\\nHost: t\\r\\nContent-Length: -5\\r\\n\\r\\n   | 400
          non-numeric Content-Length    | POST / HTTP/1.1\\r\\nHost: t\\r\\nContent-Length: 5x\\r\\n\\r\\n   | 400
          Content-Length and chunked    | POST / HTTP/1.1\\r\\nHost: t\\r\\nContent-Length: 5\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n5\\r\\nhello\\r\\n0\\r\\n\\r\\n | 400
          chunked not last              | POST / HTTP/1.1\\r\\nHost: t\\r\\nTransfer-Encoding: chunked, gzip\\r\\n\\r\\n0\\r\\n\\r\\n | 400
          unknown transfer coding       | POST / HTTP/1.1\\r\\nHost: t\\r\\nTransfer-Encoding: gzip\\r\\n\\r\\nhello | 400,501
          Transfer-Encoding in 1.0      | POST / HTTP/1.0\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n | 400
          space in header name          | GET / HTTP/1.1\\r\\nHost: t\\r\\nBad Header: x\\r\\n\\r\\n          | 400
          space before colon            | GET / HTTP/1.1\\r\\nHost : t\\r\\n\\r\\n                          | 400
          bad char in header name       | GET / HTTP/1.1\\r\\nHost: t\\r\\nBad@Header: x\\r\\n\\r\\n          | 400
          header line without colon     | GET / HTTP/1.1\\r\\nHost: t\\r\\nNoColon\\r\\n\\r\\n               | 400
          NUL in header value           | GET / HTTP/1.1\\r\\nHost: t\\r\\nX-A: a\\0b\\r\\n\\r\\n             | 400
          NUL in request target         | GET /a\\0b HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                       | 400
          bad escape in path            | GET /a%zz HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                         | 400
          cut escape in query           | GET /?q=%4 HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                        | 400
          CR in header value            | GET / HTTP/1.1\\r\\nHost: t\\r\\nX-A: a\\rb\\r\\n\\r\\n             | 400
          """)
  void aMalformedRequestGetsAnErrorAndTheConnectionIsClosed(
      String name, String request, String statuses) throws IOException {
    String raw = unescape(request);
    int[] expected =
        java.util.Arrays.stream(statuses.split(",")).mapToInt(Integer::parseInt).toArray();
    expectStatusAndClose(raw, expected);
    assertThat(calls).as("handler calls").hasValue(0);
  }

  @Test
  void aBadChunkSizeGets400() throws IOException {
    expectStatusAndClose(
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        400);
  }

  @Test
  void aRequestAfterAMalformedOneIsNotServed() throws IOException {
    try (Conn c = server.connect()) {
      RawHttp.Response r =
          answerTo(
              c,
              "GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(r.status()).isEqualTo(400);
      c.awaitClose(Duration.ofSeconds(5));
    }
    assertThat(calls).hasValue(0);
  }

  @Test
  void aMalformedRequestPipelinedAfterAGoodOneGetsItsOwnAnswer() throws IOException {
    try (Conn c = server.connect()) {
      c.send("GET /good HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/9.9\r\nHost: t\r\n\r\n");
      RawHttp.Response good = c.read();
      assertThat(good.status()).isEqualTo(200);
      assertThat(good.header("connection")).isEmpty();
      RawHttp.Response bad = c.read();
      assertThat(bad.status()).isEqualTo(505);
      c.awaitClose(Duration.ofSeconds(5));
    }
  }

  private static String unescape(String s) {
    return s.trim().replace("\\r", "\r").replace("\\n", "\n").replace("\\0", "\0");
  }
}
