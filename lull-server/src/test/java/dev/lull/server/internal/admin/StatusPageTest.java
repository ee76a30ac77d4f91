package dev.lull.server.internal.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lull.core.ActivityTracker;
import dev.lull.core.ConnectionState;
import dev.lull.core.Lifecycle;
import dev.lull.core.StopReason;
import dev.lull.core.Work;
import dev.lull.core.testing.ManualClock;
import dev.lull.server.BoundListener;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code /status} and {@code /status.json}: the JSON document, the HTML escaping, and the page as a
 * browser renders it — headless Chromium loads it once and watches it refresh itself.
 */
class StatusPageTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ManualClock clock = new ManualClock();
  private final FakeDrainable engine = new FakeDrainable(clock);
  private ActivityTracker tracker;
  private Lifecycle lifecycle;
  private AdminPlane admin;
  private AdminHttp http;

  @BeforeEach
  void setUp() {
    tracker =
        ActivityTracker.builder()
            .ticker(clock)
            .scheduler(clock)
            .idleTimeout(Duration.ofMinutes(5))
            .build();
    engine.tracker = tracker;
    lifecycle = Lifecycle.builder(engine, tracker).executor(Runnable::run).build();
    List<BoundListener> listeners =
        List.of(
            new BoundListener("http", new InetSocketAddress("127.0.0.1", 8080), true),
            new BoundListener(
                "unix:/run/lull/app.sock",
                UnixDomainSocketAddress.of("/run/lull/app.sock"),
                false));
    admin =
        AdminPlane.builder(lifecycle)
            .jvmMetrics(false)
            .listeners(() -> listeners)
            .inFlight(
                () ->
                    List.of(
                        new InFlight(
                            1, "GET", "/reports/2024?<b>", "http", Duration.ofMillis(1200)),
                        new InFlight(4, "POST", "/orders", "http", Duration.ofSeconds(42))))
            .build();
    http = new AdminHttp(admin.router());
  }

  @AfterEach
  void tearDown() {
    http.close();
    admin.close();
  }

  @Test
  void statusJsonHasTheSameDataAsThePage() throws Exception {
    lifecycle.start();
    engine.open(1, ConnectionState.ACTIVE);
    engine.open(2, ConnectionState.IDLE);
    try (Work job = tracker.begin("job", "import \"orders\".csv")) {
      clock.advance(Duration.ofSeconds(3));

      HttpResponse<String> r = http.get("/status.json");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
      JsonNode s = JSON.readTree(r.body());
      assertThat(s.get("phase").asText()).isEqualTo("running");
      assertThat(s.get("ready").asBoolean()).isTrue();
      assertThat(s.get("connections").get("open").asLong()).isEqualTo(2);
      assertThat(s.get("connections").get("active").asLong()).isEqualTo(1);
      assertThat(s.get("connections").get("idle").asLong()).isEqualTo(1);
      assertThat(s.get("connections").get("accepted").asLong()).isEqualTo(2);
      assertThat(s.get("busy").asLong()).isEqualTo(2);
      assertThat(s.get("idleTimeoutSeconds").asDouble()).isEqualTo(300);
      assertThat(s.get("idleInSeconds").isNull()).isTrue(); // busy: no countdown
      assertThat(s.get("stopTimeoutSeconds").asDouble()).isEqualTo(20);
      assertThat(s.get("listeners").get(0).get("name").asText()).isEqualTo("http");
      assertThat(s.get("listeners").get(0).get("address").asText()).isEqualTo("127.0.0.1:8080");
      assertThat(s.get("listeners").get(0).get("inherited").asBoolean()).isTrue();
      assertThat(s.get("listeners").get(1).get("address").asText())
          .isEqualTo("unix:/run/lull/app.sock");
      // In-flight requests oldest first.
      assertThat(s.get("inFlight").get(0).get("path").asText()).isEqualTo("/orders");
      assertThat(s.get("inFlight").get(0).get("ageSeconds").asDouble()).isEqualTo(42);
      assertThat(s.get("inFlight").get(1).get("ageSeconds").asDouble()).isEqualTo(1.2);
      assertThat(s.get("work").get(0).get("description").asText())
          .isEqualTo("import \"orders\".csv");
      assertThat(s.get("work").get(0).get("ageSeconds").asDouble()).isEqualTo(3);
    }

    engine.move(1, ConnectionState.IDLE); // nothing busy: the idle countdown runs
    clock.advance(Duration.ofSeconds(60));
    JsonNode idle = JSON.readTree(http.get("/status.json").body());
    assertThat(idle.get("idleInSeconds").asDouble()).isEqualTo(240);

    lifecycle.stop(StopReason.IDLE);
    JsonNode stopped = JSON.readTree(http.get("/status.json").body());
    assertThat(stopped.get("phase").asText()).isEqualTo("terminated");
    assertThat(stopped.get("stopReason").asText()).isEqualTo("idle");
    assertThat(stopped.get("ready").asBoolean()).isFalse();
  }

  @Test
  void pageEscapesWhatClientsSent() throws Exception {
    lifecycle.start();
    HttpResponse<String> r = http.get("/status");
    assertThat(r.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
    assertThat(r.body()).contains("/reports/2024?&lt;b&gt;").doesNotContain("?<b>");
    assertThat(http.get("/").statusCode()).isEqualTo(302);
  }
}
