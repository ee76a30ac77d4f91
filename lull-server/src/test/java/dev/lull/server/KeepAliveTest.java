package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KeepAliveTest {
  private static final Handler REMOTE_PORT =
      (req, res) -> res.send("port " + ((InetSocketAddress) req.remoteAddress()).getPort());

  @Test
  void severalRequestsReuseOneConnection() throws Exception {
    try (TestServer t = TestServer.start(REMOTE_PORT);
        Conn c = t.connect()) {
      Set<String> bodies = new HashSet<>();
      for (int i = 0; i < 5; i++) {
        c.send("GET /" + i + " HTTP/1.1\r\nHost: t\r\n\r\n");
        RawHttp.Response r = c.read();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("connection")).isEmpty();
        bodies.add(r.bodyText());
      }
      assertThat(bodies).containsExactly("port " + c.socket.getLocalPort());
    }
  }

  @Test
  void http10WithoutKeepAliveClosesAfterTheResponse() throws Exception {
    try (TestServer t = TestServer.start(REMOTE_PORT);
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.0\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.header("connection")).hasValueSatisfying(v -> v.equalsIgnoreCase("close"));
      c.awaitClose(Duration.ofSeconds(5));
    }
  }

  @Test
  void http10WithKeepAliveStaysOpenAndSaysSo() throws Exception {
    try (TestServer t = TestServer.start(REMOTE_PORT);
        Conn c = t.connect()) {
      for (int i = 0; i < 3; i++) {
        c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        RawHttp.Response r = c.read();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("connection"))
            .hasValueSatisfying(v -> v.equalsIgnoreCase("keep-alive"));
        assertThat(r.header("content-length")).isPresent();
      }
    }
  }

  @Test
  void connectionCloseFromTheClientClosesAfterTheResponse() throws Exception {
    try (TestServer t = TestServer.start(REMOTE_PORT);
        Conn c = t.connect()) {
      c.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.header("connection")).hasValueSatisfying(v -> v.equalsIgnoreCase("close"));
      c.awaitClose(Duration.ofSeconds(5));
    }
  }
}
