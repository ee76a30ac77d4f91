package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class HeadRequestTest {
  private static final byte[] BIG = new byte[100_000];

  static {
    Arrays.fill(BIG, (byte) 'x');
  }

  private static final Router ROUTES =
      Router.builder()
          .get("/doc", (req, res) -> res.header("X-Doc", "1").send("0123456789"))
          .get(
              "/big",
              (req, res) -> {
                try (OutputStream out = res.body()) {
                  out.write(BIG);
                }
              })
          .build();

  @Test
  void headHasTheHeadersOfGetWithoutABodyAndTheConnectionStaysUsable() throws Exception {
    try (TestServer t = TestServer.start(ROUTES);
        Conn c = t.connect()) {
      c.send("GET /doc HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response get = c.read();
      c.send("HEAD /doc HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response head = c.readHeadResponse();
      c.send("GET /doc HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response again = c.read();

      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("content-length")).hasValue("10");
      assertThat(head.header("content-type")).isEqualTo(get.header("content-type"));
      assertThat(head.header("x-doc")).hasValue("1");
      assertThat(again.bodyText()).isEqualTo("0123456789");
    }
  }

  @Test
  void headOfAStreamedResponseSendsNoChunks() throws Exception {
    try (TestServer t = TestServer.start(ROUTES);
        Conn c = t.connect()) {
      c.send("HEAD /big HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response head = c.readHeadResponse();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("transfer-encoding")).hasValue("chunked");
      c.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response get = c.read();
      assertThat(get.body()).isEqualTo(BIG);
      c.send("HEAD /doc HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.readHeadResponse().header("content-length")).hasValue("10");
      c.send("GET /doc HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().bodyText()).isEqualTo("0123456789");
    }
  }
}
