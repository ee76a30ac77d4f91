package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.ActivityCounts;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code maxConnections}: at the limit Lull stops accepting; a connection beyond it waits in the
 * kernel's accept queue (it is neither accepted nor refused) and is served once another closes.
 */
class ConnectionLimitTest {
  private static final String GET = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
  private TestServer server;

  @AfterEach
  void stop() {
    if (server != null) server.close();
  }

  private static long open(ActivityCounts c) {
    return c.newConnections() + c.active() + c.idle() + c.hijacked();
  }

  @Test
  void aConnectionBeyondTheLimitWaitsUntilOneCloses() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    LogCapture logs = LogCapture.lull();
    server =
        TestServer.start(
            (req, res) -> res.send("ok"), b -> b.maxConnections(2).meterRegistry(registry));
    try (logs;
        Conn a = server.connect();
        Conn b = server.connect()) {
      assertThat(a.send(GET).read().status()).isEqualTo(200);
      assertThat(b.send(GET).read().status()).isEqualTo(200);
      // Two idle keep-alive connections: the limit. A third completes its handshake in the kernel
      // (connect returns) but Lull does not accept it: its request gets no answer...
      try (Conn c = server.connect()) {
        c.send(GET);
        assertThat(c.staysSilentFor(Duration.ofMillis(300))).as("served beyond the limit").isTrue();
        assertThat(open(server.server.activity().counts())).isEqualTo(2);
        // ...until one of the two closes; then it is accepted and served (Conn reads with a 10 s
        // deadline).
        a.close();
        assertThat(c.read().status()).isEqualTo(200);
      }
      // Paused when b made two, resumed when a closed, paused again when c made two.
      assertThat(server.server.engine().acceptPauses()).isEqualTo(2);
      assertThat(registry.get("lull.accept.pauses").functionCounter().count()).isEqualTo(2);
      assertThat(registry.scrape()).contains("lull_accept_pauses_total");
      assertThat(logs.all())
          .filteredOn(r -> r.getMessage().startsWith("connection limit reached (2 open)"))
          .hasSize(1);
    }
  }

  @Test
  void belowTheLimitNothingWaits() throws Exception {
    server = TestServer.start((req, res) -> res.send("ok"), b -> b.maxConnections(3));
    try (Conn a = server.connect();
        Conn b = server.connect();
        Conn c = server.connect()) {
      for (Conn conn : new Conn[] {a, b, c}) {
        assertThat(conn.send(GET).read().status()).isEqualTo(200);
      }
    }
  }

  @Test
  void aNegativeLimitIsRefusedByName() {
    assertThatThrownBy(
            () ->
                Server.builder()
                    .listen("127.0.0.1:0")
                    .handler((req, res) -> res.send("ok"))
                    .maxConnections(-1)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxConnections < 0: -1");
  }
}
