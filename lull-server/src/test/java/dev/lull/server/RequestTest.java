package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RequestTest {
  /** What a handler saw, copied out on its thread. */
  record Seen(
      String method,
      String path,
      String rawQuery,
      Map<String, List<String>> query,
      String b,
      String c,
      boolean missing,
      List<String> multi,
      String firstMulti,
      java.util.Set<String> names,
      String protocol,
      long contentLength,
      String body,
      java.net.SocketAddress remote,
      String listener) {}

  /** The client's local port, to compare with {@link Request#remoteAddress()}. */
  private int clientPort;

  private Seen serve(String request, String listen) throws Exception {
    CompletableFuture<Seen> seen = new CompletableFuture<>();
    Handler h =
        (req, res) -> {
          seen.complete(
              new Seen(
                  req.method(),
                  req.path(),
                  req.rawQuery(),
                  req.queryParameters(),
                  req.query("b").orElse(null),
                  req.query("c").orElse(null),
                  req.query("missing").isEmpty(),
                  req.headers("X-Multi"),
                  req.header("x-MULTI").orElse(null),
                  req.headerNames(),
                  req.protocol(),
                  req.contentLength(),
                  new String(req.body().readAllBytes(), StandardCharsets.UTF_8),
                  req.remoteAddress(),
                  req.listener()));
          res.send("ok");
        };
    try (Server server = Server.builder().listen(listen).handler(h).ioThreads(1).build().start();
        Conn c = new Conn(new Socket("127.0.0.1", server.listeners().get(0).port()))) {
      clientPort = c.socket.getLocalPort();
      c.send(request);
      assertThat(c.read().status()).isEqualTo(200);
      return seen.get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void theQueryIsDecoded() throws Exception {
    Seen s =
        serve(
            "GET /a%20b/c?a=1&a=2&b=x%20y&c=p+q&empty=&flag&semi=1;2 HTTP/1.1\r\nHost: t\r\n\r\n",
            "127.0.0.1:0");
    assertThat(s.path()).isEqualTo("/a b/c");
    assertThat(s.rawQuery()).isEqualTo("a=1&a=2&b=x%20y&c=p+q&empty=&flag&semi=1;2");
    assertThat(s.query().get("a")).containsExactly("1", "2");
    assertThat(s.b()).isEqualTo("x y");
    assertThat(s.c()).isEqualTo("p q");
    assertThat(s.query().get("empty")).containsExactly("");
    assertThat(s.query().get("flag")).containsExactly("");
    assertThat(s.query().get("semi")).containsExactly("1;2");
    assertThat(s.missing()).isTrue();
  }

  @Test
  void repeatedHeadersKeepEveryValueInOrder() throws Exception {
    Seen s =
        serve(
            "POST /p HTTP/1.1\r\nHost: t\r\nX-Multi: 1\r\nx-multi: 2\r\nX-MULTI: 3\r\nContent-Length: 4\r\n\r\nbody",
            "127.0.0.1:0");
    assertThat(s.method()).isEqualTo("POST");
    assertThat(s.multi()).containsExactly("1", "2", "3");
    assertThat(s.firstMulti()).isEqualTo("1");
    assertThat(s.names()).contains("x-multi", "host", "content-length").hasSize(3);
    assertThat(s.protocol()).isEqualTo("HTTP/1.1");
    assertThat(s.contentLength()).isEqualTo(4);
    assertThat(s.body()).isEqualTo("body");
  }

  @Test
  void remoteAddressAndListenerName() throws Exception {
    Seen s = serve("GET / HTTP/1.1\r\nHost: t\r\n\r\n", "public=127.0.0.1:0");
    assertThat(s.remote())
        .isEqualTo(new InetSocketAddress(InetAddress.getLoopbackAddress(), clientPort));
    assertThat(s.listener()).isEqualTo("public");
    assertThat(s.contentLength()).isZero();
  }

  @Test
  void anAbsoluteFormTargetKeepsPathAndQuery() throws Exception {
    Seen s =
        serve(
            "GET http://example.com/abs/x?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
            "127.0.0.1:0");
    assertThat(s.path()).isEqualTo("/abs/x");
    assertThat(s.b()).isEqualTo("1");
  }

  @Test
  void aChunkedBodyHasUnknownLength() throws Exception {
    Seen s =
        serve(
            "PUT /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            "127.0.0.1:0");
    assertThat(s.contentLength()).isEqualTo(-1);
    assertThat(s.body()).isEqualTo("abc");
  }
}
