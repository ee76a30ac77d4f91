package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class HandlerThreadTest {
  @Test
  void handlerRunsOnAVirtualThreadNotOnAnEventLoop() throws Exception {
    AtomicReference<Thread> seen = new AtomicReference<>();
    try (TestServer t =
        TestServer.start(
            (req, res) -> {
              seen.set(Thread.currentThread());
              res.send("ok");
            })) {
      assertThat(t.get("/").statusCode()).isEqualTo(200);
    }
    assertThat(seen.get().isVirtual()).isTrue();
    assertThat(seen.get()).isNotInstanceOf(io.netty.util.concurrent.FastThreadLocalThread.class);
    assertThat(seen.get().getName()).doesNotStartWith("lull-io");
  }

  @Test
  void eachRequestGetsItsOwnThread() throws Exception {
    AtomicReference<Thread> first = new AtomicReference<>();
    AtomicReference<Thread> second = new AtomicReference<>();
    try (TestServer t =
            TestServer.start(
                (req, res) -> {
                  (req.path().equals("/1") ? first : second).set(Thread.currentThread());
                  res.send("ok");
                });
        Conn c = t.connect()) {
      c.send("GET /1 HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().status()).isEqualTo(200);
      c.send("GET /2 HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(c.read().status()).isEqualTo(200);
    }
    assertThat(first.get()).isNotSameAs(second.get());
  }
}
