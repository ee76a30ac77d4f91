package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The admin plane (a Prometheus registry and the JVM's meters, a few hundred classes) is not made
 * on the start path of a server that has no use for it (docs/STARTUP.md): only with an admin
 * listener, an application registry, or when the application asks for the registry.
 */
class LazyAdminPlaneTest {
  @Test
  void aServerWithoutAdminListenerOrRegistryServesWithoutMakingIt() throws Exception {
    try (TestServer t = TestServer.start((req, res) -> res.send("hi\n"))) {
      HttpResponse<String> r = t.get("/");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(t.server.adminPlaneMade()).isFalse();
      // Asked for, it is made then, and it is the same one afterwards.
      assertThat(t.server.meterRegistry()).isNotNull();
      assertThat(t.server.adminPlaneMade()).isTrue();
      assertThat(t.server.meterRegistry()).isSameAs(t.server.meterRegistry());
    }
  }

  @Test
  void anApplicationRegistryOrAnAdminListenerMakesItAtOnce() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (TestServer t =
        TestServer.start((req, res) -> res.send("hi\n"), b -> b.meterRegistry(registry))) {
      assertThat(t.server.adminPlaneMade()).isTrue();
      assertThat(t.server.meterRegistry()).isSameAs(registry);
      assertThat(t.get("/").statusCode()).isEqualTo(200);
      // Requests are recorded into the application's registry from the first one (on the event
      // loop, once the response is written: a moment after the client has it).
      Awaits.until(
          Duration.ofSeconds(10),
          "the first request recorded",
          () -> registry.scrape().contains("lull_requests_seconds_count{"));
      assertThat(registry.scrape()).contains("status=\"200\"");
    }
    try (TestServer t =
        TestServer.start((req, res) -> res.send("hi\n"), b -> b.admin("127.0.0.1:0"))) {
      assertThat(t.server.adminPlaneMade()).isTrue();
      assertThat(t.server.adminListeners()).hasSize(1);
    }
  }

  @Test
  void aPlaneMadeAfterTheServerStoppedIsStillUsable() throws Exception {
    TestServer t = TestServer.start((req, res) -> res.send("hi\n"));
    t.close();
    assertThat(t.server.adminPlaneMade()).isFalse();
    assertThat(t.server.meterRegistry().getMeters()).isNotEmpty();
  }
}
