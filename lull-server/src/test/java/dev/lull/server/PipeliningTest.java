package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PipeliningTest {
  @Test
  void thousandPipelinedRequestsComeBackInOrder() throws Exception {
    int n = 1000;
    try (TestServer t = TestServer.start((req, res) -> res.send(req.path()));
        Conn c = t.connect()) {
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      for (int i = 0; i < n; i++) {
        all.writeBytes(
            ("GET /echo/" + i + " HTTP/1.1\r\nHost: t\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
      }
      byte[] bytes = all.toByteArray();
      // One write, from another thread so that reading responses cannot deadlock with it.
      CompletableFuture<Void> written =
          CompletableFuture.runAsync(() -> c.send(bytes), r -> Thread.ofVirtual().start(r));
      for (int i = 0; i < n; i++) {
        RawHttp.Response r = c.read();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("/echo/" + i);
      }
      written.get(10, TimeUnit.SECONDS);
      c.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().bodyText()).isEqualTo("/after");
    }
  }

  @Test
  void pipelinedRequestsWithBodiesAndHeadStayFramed() throws Exception {
    Handler echo =
        (req, res) -> {
          byte[] body = req.body().readAllBytes();
          res.send(
              req.method() + " " + req.path() + " " + new String(body, StandardCharsets.UTF_8));
        };
    try (TestServer t = TestServer.start(echo);
        Conn c = t.connect()) {
      StringBuilder all = new StringBuilder();
      for (int i = 0; i < 60; i++) {
        switch (i % 3) {
          case 0 ->
              all.append("POST /p")
                  .append(i)
                  .append(" HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nbody")
                  .append(i % 10);
          case 1 ->
              all.append("POST /c")
                  .append(i)
                  .append(" HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
                  .append("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
          default -> all.append("HEAD /h").append(i).append(" HTTP/1.1\r\nHost: t\r\n\r\n");
        }
      }
      CompletableFuture<Void> written =
          CompletableFuture.runAsync(
              () -> c.send(all.toString()), r -> Thread.ofVirtual().start(r));
      for (int i = 0; i < 60; i++) {
        switch (i % 3) {
          case 0 -> assertThat(c.read().bodyText()).isEqualTo("POST /p" + i + " body" + (i % 10));
          case 1 -> assertThat(c.read().bodyText()).isEqualTo("POST /c" + i + " abcde");
          default -> {
            RawHttp.Response r = c.readHeadResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("content-length"))
                .hasValue(String.valueOf(("HEAD /h" + i + " ").length()));
          }
        }
      }
      written.get(10, TimeUnit.SECONDS);
    }
  }
}
