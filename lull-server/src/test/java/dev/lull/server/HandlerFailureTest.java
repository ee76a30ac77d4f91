package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class HandlerFailureTest {
  private static final Router ROUTES =
      Router.builder()
          .get(
              "/boom",
              (req, res) -> {
                throw new IllegalStateException("kaboom");
              })
          .get("/ok", (req, res) -> res.send("ok"))
          .get(
              "/half",
              (req, res) -> {
                OutputStream out = res.body();
                out.write("part".getBytes(StandardCharsets.UTF_8));
                out.flush();
                throw new IllegalStateException("midway");
              })
          .get(
              "/buffered",
              (req, res) -> {
                res.header("X-Lost", "1");
                res.body().write("never sent".getBytes(StandardCharsets.UTF_8));
                throw new IllegalStateException("before commit");
              })
          .build();

  @Test
  void anExceptionBecomes500WithOneLogLineAndTheConnectionSurvives() throws Exception {
    try (LogCapture log = LogCapture.lull();
        TestServer t = TestServer.start(ROUTES);
        Conn c = t.connect()) {
      c.send("GET /boom HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(500);
      assertThat(r.header("connection")).isEmpty();
      c.send("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().bodyText()).isEqualTo("ok");
      assertThat(log.problems()).hasSize(1);
      assertThat(log.problems().get(0).getMessage()).contains("kaboom").doesNotContain("\n");
    }
  }

  @Test
  void anExceptionBeforeCommitDiscardsWhatWasBuffered() throws Exception {
    try (LogCapture log = LogCapture.lull();
        TestServer t = TestServer.start(ROUTES);
        Conn c = t.connect()) {
      c.send("GET /buffered HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(500);
      assertThat(r.header("x-lost")).isEmpty();
      assertThat(r.bodyText()).doesNotContain("never sent");
      c.send("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().bodyText()).isEqualTo("ok");
      assertThat(log.problems()).hasSize(1);
    }
  }

  @Test
  void anExceptionAfterStreamingStartedTruncatesTheBodyAndClosesTheConnection() throws Exception {
    try (LogCapture log = LogCapture.lull();
        TestServer t = TestServer.start(ROUTES);
        Conn c = t.connect()) {
      c.send("GET /half HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.chunked()).isTrue();
      assertThat(r.bodyText()).isEqualTo("part");
      assertThat(r.complete()).as("no terminating chunk").isFalse();
      c.awaitClose(Duration.ofSeconds(5));
      assertThat(log.problems()).hasSize(1);
      assertThat(log.problems().get(0).getMessage()).contains("midway");
    }
  }

  @Test
  void aClientThatLeavesMidBodyIsNotAnError() throws Exception {
    java.util.concurrent.CountDownLatch reading = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CompletableFuture<Throwable> outcome =
        new java.util.concurrent.CompletableFuture<>();
    Handler h =
        (req, res) -> {
          reading.countDown();
          try {
            req.body().readAllBytes();
            outcome.complete(null);
          } catch (Throwable e) {
            outcome.complete(e);
            throw e;
          }
        };
    try (LogCapture log = LogCapture.lull();
        TestServer t = TestServer.start(h)) {
      try (Conn c = t.connect()) {
        c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nonly ten..");
        assertThat(reading.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      }
      assertThat(outcome.get(5, java.util.concurrent.TimeUnit.SECONDS))
          .isInstanceOf(java.io.IOException.class);
      t.close(); // waits for the event loops: whatever would be logged is logged
      assertThat(log.problems()).isEmpty();
    }
  }

  @Test
  void aClientThatLeavesMidResponseIsNotAnError() throws Exception {
    java.util.concurrent.CompletableFuture<Throwable> outcome =
        new java.util.concurrent.CompletableFuture<>();
    Handler h =
        (req, res) -> {
          try (OutputStream out = res.body()) {
            byte[] block = new byte[64 * 1024];
            for (int i = 0; i < 100_000; i++) out.write(block);
            outcome.complete(null);
          } catch (Throwable e) {
            outcome.complete(e);
            throw e;
          }
        };
    try (LogCapture log = LogCapture.lull();
        TestServer t = TestServer.start(h)) {
      try (Conn c = t.connect()) {
        c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        assertThat(RawHttp.readHead(c.in).status()).isEqualTo(200);
      }
      assertThat(outcome.get(10, java.util.concurrent.TimeUnit.SECONDS))
          .isInstanceOf(java.io.IOException.class);
      t.close();
      assertThat(log.problems()).isEmpty();
    }
  }
}
