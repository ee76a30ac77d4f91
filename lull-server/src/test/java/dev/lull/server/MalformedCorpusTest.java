package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Request smuggling and parser-confusion cases (issue #8, item 3), next to {@link LimitsTest}'s
 * corpus: each request gets a 4xx (or 505), {@code Connection: close}, and the connection closes;
 * the handler, which records every request it is given, sees none of them, not even a request
 * smuggled inside a body. The rules are RFC 9112's (section numbers in the case names); Netty's
 * decoder in strict mode is the baseline, and Lull adds what it does not check (the request target
 * and the Host value).
 */
class MalformedCorpusTest {
  private final List<String> seen = new ArrayList<>();
  private TestServer server;

  @BeforeEach
  void start() {
    Handler h =
        (req, res) -> {
          byte[] body = req.body().readAllBytes();
          synchronized (seen) {
            seen.add(req.method() + " " + req.path() + " body=" + body.length);
          }
          res.send("ok\n");
        };
    server =
        TestServer.start(
            h,
            b ->
                b.maxRequestLineLength(256)
                    .maxHeaderSize(1024)
                    .readHeaderTimeout(Duration.ofSeconds(5)));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private static final String GET = "GET / HTTP/1.1\r\nHost: t\r\n";

  /** A smuggled request hidden in a body: the handler must never see {@code /smuggled}. */
  private static final String SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";

  static Stream<Arguments> corpus() {
    List<Arguments> c = new ArrayList<>();
    // --- Content-Length / Transfer-Encoding ambiguity (RFC 9112 6.1, 6.3)
    c.add(
        bad(
            "TE then CL (6.3: both present)",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\n"
                + SMUGGLED));
    c.add(
        bad(
            "CL.TE with smuggled request",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "0\r\n\r\n"
                + SMUGGLED));
    c.add(
        bad(
            "TE chunked, identity (chunked not final)",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"));
    c.add(
        bad(
            "TE identity",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n",
            501));
    c.add(
        bad(
            "TE on two lines, chunked then identity",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                + "Transfer-Encoding: identity\r\n\r\n0\r\n\r\n"));
    c.add(
        bad(
            "TE chunked twice (6.1: chunked once)",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
                + "0\r\n\r\n"));
    c.add(
        bad(
            "TE xchunked",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
            501));
    c.add(
        bad(
            "TE with space before colon",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"));
    c.add(
        bad(
            "TE obs-folded",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"));
    c.add(
        bad(
            "TE with vertical tab",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\u000bchunked\r\n\r\n0\r\n\r\n"));
    c.add(
        bad(
            "TE in HTTP/1.0 with CL",
            "POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "0\r\n\r\n"));
    c.add(
        bad(
            "CL list with different values",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 6\r\n\r\nhello!"));
    c.add(
        bad(
            "CL list with equal values",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 5\r\n\r\nhello"));
    c.add(
        bad(
            "CL twice, same value",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"));
    c.add(
        bad("CL with plus sign", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello"));
    c.add(bad("CL hex", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x5\r\n\r\nhello"));
    c.add(bad("CL exponent", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5e0\r\n\r\nhello"));
    c.add(bad("CL inner space", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1 5\r\n\r\nhello"));
    c.add(bad("CL empty", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: \r\n\r\n"));
    c.add(
        bad(
            "CL overflowing a long",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999\r\n\r\nx",
            413));
    c.add(bad("CL with NUL", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\0\r\n\r\nhello"));
    // --- chunk framing (RFC 9112 7.1)
    String chunked = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    c.add(bad("chunk size negative", chunked + "-5\r\nhello\r\n0\r\n\r\n"));
    c.add(bad("chunk size overflowing", chunked + "fffffffffffffffff1\r\nhello\r\n0\r\n\r\n"));
    c.add(bad("chunk size 0x-prefixed", chunked + "0x5\r\nhello\r\n0\r\n\r\n"));
    c.add(bad("chunk size with leading space", chunked + " 5\r\nhello\r\n0\r\n\r\n"));
    c.add(bad("chunk size empty", chunked + "\r\nhello\r\n0\r\n\r\n"));
    c.add(
        bad("chunk data without CRLF, smuggling", chunked + "5\r\nhelloGET /x\r\n0\r\n\r\n" + ""));
    c.add(bad("chunk data longer than size", chunked + "3\r\nhello\r\n0\r\n\r\n" + SMUGGLED));
    c.add(bad("chunk size line with bare LF", chunked + "5\nhello\r\n0\r\n\r\n"));
    c.add(bad("chunk data ended by bare LF", chunked + "5\r\nhello\n0\r\n\r\n"));
    c.add(
        bad(
            "chunk extension too long",
            chunked + "5;" + "a".repeat(4000) + "\r\nhello\r\n0\r\n\r\n"));
    c.add(bad("chunk extension with NUL", chunked + "5;a=\0\r\nhello\r\n0\r\n\r\n"));
    // (An obs-folded trailer line is accepted: trailers are dropped, and a folded line is not
    // empty, so it cannot move the end of the message.)
    c.add(bad("trailer without colon", chunked + "0\r\nNoColon\r\n\r\n"));
    // --- field lines (RFC 9112 5)
    c.add(bad("obs-fold", GET + "X-A: a\r\n b\r\n\r\n"));
    c.add(bad("obs-fold with tab", GET + "X-A: a\r\n\tb\r\n\r\n"));
    c.add(bad("whitespace before the first field (2.2)", "GET / HTTP/1.1\r\n Host: t\r\n\r\n"));
    c.add(bad("NUL in header name", GET + "X\0A: b\r\n\r\n"));
    c.add(bad("DEL in header name", GET + "X\u007fA: b\r\n\r\n"));
    c.add(bad("CTL 0x01 in header value", GET + "X-A: a\u0001b\r\n\r\n"));
    c.add(bad("CTL 0x1f in header value", GET + "X-A: a\u001fb\r\n\r\n"));
    c.add(bad("DEL in header value", GET + "X-A: a\u007fb\r\n\r\n"));
    c.add(bad("bare LF inside the head", "GET / HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n"));
    c.add(bad("bare CR ending a header", GET + "X-A: b\rX-B: c\r\n\r\n"));
    c.add(bad("empty header name", GET + ": b\r\n\r\n"));
    c.add(bad("one overlong header line", GET + "X-A: " + "v".repeat(2000) + "\r\n\r\n", 431));
    // --- request line (RFC 9112 3)
    c.add(bad("NUL in method", "G\0T / HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("separator in method", "G(T / HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("empty method", " / HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("two spaces after method", "GET  / HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("tab as separator", "GET\t/ HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("trailing space after version", "GET / HTTP/1.1 \r\nHost: t\r\n\r\n"));
    c.add(bad("bare CR in request line", "GET / HTTP/1.1\rHost: t\r\n\r\n"));
    c.add(bad("CR inside the target", "GET /a\rb HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("DEL in the target", "GET /a\u007fb HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("overlong method", "A".repeat(300) + " / HTTP/1.1\r\nHost: t\r\n\r\n", 414));
    c.add(bad("lower-case http version", "GET / http/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("version without minor", "GET / HTTP/1\r\nHost: t\r\n\r\n", 505));
    c.add(bad("version with three parts", "GET / HTTP/1.1.1\r\nHost: t\r\n\r\n", 505));
    c.add(bad("version with leading zero", "GET / HTTP/01.1\r\nHost: t\r\n\r\n", 505));
    c.add(bad("version 1.10", "GET / HTTP/1.10\r\nHost: t\r\n\r\n", 505));
    c.add(bad("version 3.0", "GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505));
    c.add(bad("PRI preface of HTTP/2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505));
    // --- request target forms (RFC 9112 3.2)
    c.add(bad("asterisk-form with GET (3.2.4)", "GET * HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("authority-form with GET (3.2.3)", "GET t:80 HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("relative target", "GET a/b HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("absolute-form with another scheme", "GET ftp://t/ HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("absolute-form without authority", "GET http:/a HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.add(bad("fragment in target", "GET /a#b HTTP/1.1\r\nHost: t\r\n\r\n"));
    // --- Host (RFC 9112 3.2: missing, repeated or invalid in HTTP/1.1 is 400)
    c.add(bad("Host missing, absolute-form", "GET http://t/ HTTP/1.1\r\n\r\n"));
    c.add(bad("Host twice, same value", "GET / HTTP/1.1\r\nHost: t\r\nHost: t\r\n\r\n"));
    c.add(bad("Host as a list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n"));
    c.add(bad("Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"));
    c.add(bad("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"));
    c.add(bad("Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"));
    c.add(bad("Host with a bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n"));
    c.add(bad("Host with an open IPv6 literal", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"));
    c.add(bad("Host twice in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"));
    return c.stream();
  }

  private static Arguments bad(String name, String request, int... alsoAllowed) {
    int[] statuses = Arrays.copyOf(new int[] {400}, 1 + alsoAllowed.length);
    System.arraycopy(alsoAllowed, 0, statuses, 1, alsoAllowed.length);
    return Arguments.of(name, request, statuses);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("corpus")
  void aMalformedRequestGetsA4xxAndACloseAndNeverReachesTheHandler(
      String name, String request, int[] statuses) throws IOException {
    try (Conn c = server.connect()) {
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
      RawHttp.Response r = c.read();
      assertThat(r.status()).as("status").isIn(Arrays.stream(statuses).boxed().toArray());
      assertThat(r.header("connection"))
          .as("Connection header")
          .hasValueSatisfying(v -> assertThat(v).isEqualToIgnoringCase("close"));
      c.awaitClose(Duration.ofSeconds(5));
    }
    synchronized (seen) {
      assertThat(seen).as("requests the handler saw").isEmpty();
    }
  }

  /** The same rules leave valid requests alone: each is served, and only once. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("valid")
  void aValidRequestIsServed(String name, String request, String expectSeen) throws IOException {
    try (Conn c = server.connect()) {
      c.send(request);
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
    }
    synchronized (seen) {
      assertThat(seen).containsExactly(expectSeen);
    }
  }

  static Stream<Arguments> valid() {
    return Stream.of(
        Arguments.of("origin-form", GET + "\r\n", "GET / body=0"),
        Arguments.of(
            "absolute-form, Host differs (3.2.2: Host ignored)",
            "GET http://other:81/p?q=1 HTTP/1.1\r\nHost: t\r\n\r\n",
            "GET /p body=0"),
        Arguments.of(
            "asterisk-form with OPTIONS",
            "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n",
            "OPTIONS * body=0"),
        Arguments.of("empty Host (3.2)", "GET / HTTP/1.1\r\nHost:\r\n\r\n", "GET / body=0"),
        Arguments.of(
            "Host IPv6 literal with port",
            "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
            "GET / body=0"),
        Arguments.of("HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", "GET / body=0"),
        Arguments.of(
            "CL with surrounding whitespace (OWS)",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length:   5  \r\n\r\nhello",
            "POST / body=5"),
        Arguments.of(
            "TE chunked in any case, chunk extension",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n"
                + "5;name=value\r\nhello\r\n0\r\n\r\n",
            "POST / body=5"),
        Arguments.of(
            "empty lines before the request line (2.2)",
            "\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n",
            "GET / body=0"),
        Arguments.of(
            "tab in a header value",
            "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\tb\r\n\r\n",
            "GET / body=0"));
  }
}
