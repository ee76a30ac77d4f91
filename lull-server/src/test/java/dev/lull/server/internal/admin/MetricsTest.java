package dev.lull.server.internal.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.core.ActivityTracker;
import dev.lull.core.CancellationCause;
import dev.lull.core.ConnectionState;
import dev.lull.core.Lifecycle;
import dev.lull.core.StopReason;
import dev.lull.core.Work;
import dev.lull.core.testing.ManualClock;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} scraped over HTTP and read by the Prometheus client's own parser: the values
 * must match the traffic and the states recorded.
 */
class MetricsTest {
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
            .idleTimeout(Duration.ofSeconds(30))
            .build();
    engine.tracker = tracker;
    lifecycle = Lifecycle.builder(engine, tracker).executor(Runnable::run).build();
    admin = AdminPlane.builder(lifecycle).build();
    http = new AdminHttp(admin.router());
  }

  @AfterEach
  void tearDown() {
    http.close();
    admin.close();
  }

  @Test
  void requestCountsLatencyHistogramAndCancellationsMatchWhatWasRecorded() throws Exception {
    RequestMetrics m = admin.requestMetrics();
    m.record("GET", "/jobs/{id}", 200, Duration.ofMillis(2).toNanos());
    m.record("GET", "/jobs/{id}", 200, Duration.ofMillis(20).toNanos());
    m.record("GET", "/jobs/{id}", 200, Duration.ofSeconds(2).toNanos());
    m.record("POST", "/jobs", 201, Duration.ofMillis(5).toNanos());
    m.record("GET", RequestMetrics.UNMATCHED, 404, Duration.ofMillis(1).toNanos());
    m.record("GET", null, 404, Duration.ofMillis(1).toNanos());
    m.record("BREW", RequestMetrics.UNMATCHED, 405, Duration.ofMillis(1).toNanos());
    m.cancelled(CancellationCause.CLIENT_DISCONNECTED);
    m.cancelled(CancellationCause.CLIENT_DISCONNECTED);
    m.cancelled(CancellationCause.SERVER_STOPPING);

    HttpResponse<String> r = http.get("/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type"))
        .hasValue("text/plain; version=0.0.4; charset=utf-8");
    List<PromText.Sample> s = PromText.parse(r.body(), false);

    Map<String, String> jobs = Map.of("method", "GET", "route", "/jobs/{id}", "status", "200");
    assertThat(PromText.value(s, "lull_requests_seconds_count", jobs)).isEqualTo(3);
    assertThat(PromText.value(s, "lull_requests_seconds_sum", jobs)).isCloseTo(2.022, within());
    assertThat(
            PromText.value(
                s,
                "lull_requests_seconds_count",
                Map.of("method", "POST", "route", "/jobs", "status", "201")))
        .isEqualTo(1);
    assertThat(
            PromText.value(
                s,
                "lull_requests_seconds_count",
                Map.of("method", "GET", "route", "unmatched", "status", "404")))
        .isEqualTo(2);
    // An unknown method does not make a new label value per client whim.
    assertThat(
            PromText.value(
                s,
                "lull_requests_seconds_count",
                Map.of("method", "OTHER", "route", "unmatched", "status", "405")))
        .isEqualTo(1);
    assertThat(s).noneMatch(x -> "BREW".equals(x.labels().get("method")));

    // A real histogram: cumulative buckets, +Inf equal to the count, split where the values fall.
    List<PromText.Sample> buckets =
        s.stream()
            .filter(x -> x.name().equals("lull_requests_seconds_bucket"))
            .filter(x -> x.labels().get("route").equals("/jobs/{id}"))
            .sorted(Comparator.comparingDouble(x -> le(x)))
            .toList();
    assertThat(buckets).hasSizeGreaterThan(10);
    assertThat(buckets.get(buckets.size() - 1).labels().get("le")).isEqualTo("+Inf");
    assertThat(buckets.get(buckets.size() - 1).value()).isEqualTo(3);
    assertThat(bucketAtMost(buckets, 0.010)).isEqualTo(1);
    assertThat(bucketAtMost(buckets, 1.0)).isEqualTo(2);
    for (int i = 1; i < buckets.size(); i++) {
      assertThat(buckets.get(i).value()).isGreaterThanOrEqualTo(buckets.get(i - 1).value());
    }

    assertThat(
            PromText.value(
                s, "lull_requests_cancelled_total", Map.of("cause", "client_disconnected")))
        .isEqualTo(2);
    assertThat(
            PromText.value(s, "lull_requests_cancelled_total", Map.of("cause", "server_stopping")))
        .isEqualTo(1);
    assertThat(
            PromText.value(
                s, "lull_requests_cancelled_total", Map.of("cause", "deadline_exceeded")))
        .isZero();

    // The JVM binders are there too.
    assertThat(s).anyMatch(x -> x.name().equals("jvm_memory_used_bytes"));
    assertThat(s).anyMatch(x -> x.name().equals("process_uptime_seconds"));
    assertThat(s).anyMatch(x -> x.name().equals("jvm_threads_live_threads"));
  }

  @Test
  void connectionsIdleCountdownPhaseAndWorkFollowTheTracker() throws Exception {
    lifecycle.start();
    engine.open(1, ConnectionState.IDLE);
    engine.open(2, ConnectionState.IDLE);
    clock.advance(Duration.ofSeconds(10));

    List<PromText.Sample> idle = scrape();
    assertThat(PromText.value(idle, "lull_connections", Map.of("state", "idle"))).isEqualTo(2);
    assertThat(PromText.value(idle, "lull_connections", Map.of("state", "active"))).isZero();
    assertThat(PromText.value(idle, "lull_busy", Map.of())).isZero();
    assertThat(PromText.value(idle, "lull_idle_countdown_seconds", Map.of())).isEqualTo(20);
    assertThat(PromText.value(idle, "lull_idle_timeout_seconds", Map.of())).isEqualTo(30);
    assertThat(PromText.value(idle, "lull_lifecycle_phase", Map.of("phase", "running")))
        .isEqualTo(1);
    assertThat(PromText.value(idle, "lull_lifecycle_phase", Map.of("phase", "draining"))).isZero();
    assertThat(PromText.value(idle, "lull_ready", Map.of())).isEqualTo(1);

    engine.open(3, ConnectionState.ACTIVE);
    Work job = tracker.begin("job", "import orders.csv");
    List<PromText.Sample> busy = scrape();
    assertThat(PromText.value(busy, "lull_connections", Map.of("state", "active"))).isEqualTo(1);
    assertThat(PromText.value(busy, "lull_connections_accepted_total", Map.of())).isEqualTo(3);
    assertThat(PromText.value(busy, "lull_busy", Map.of())).isEqualTo(2);
    assertThat(PromText.value(busy, "lull_work_running", Map.of())).isEqualTo(1);
    assertThat(PromText.value(busy, "lull_idle_countdown_seconds", Map.of())).isNaN();

    clock.advance(Duration.ofSeconds(3));
    job.close();
    engine.move(3, ConnectionState.CLOSED);
    lifecycle.stop(StopReason.API);
    List<PromText.Sample> stopping = scrape();
    assertThat(PromText.value(stopping, "lull_work_running", Map.of())).isZero();
    assertThat(
            PromText.value(
                stopping, "lull_work_seconds_count", Map.of("kind", "job", "cancelled", "false")))
        .isEqualTo(1);
    assertThat(
            PromText.value(
                stopping, "lull_work_seconds_sum", Map.of("kind", "job", "cancelled", "false")))
        .isEqualTo(3);
    assertThat(PromText.value(stopping, "lull_connections_closed_total", Map.of())).isEqualTo(3);
    assertThat(PromText.value(stopping, "lull_ready", Map.of())).isZero();
    assertThat(PromText.value(stopping, "lull_lifecycle_phase", Map.of("phase", "terminated")))
        .isEqualTo(1);
    assertThat(PromText.value(stopping, "lull_lifecycle_phase", Map.of("phase", "running")))
        .isZero();
  }

  @Test
  void openMetricsWhenTheScraperAsksForIt() throws Exception {
    admin.requestMetrics().record("GET", "/", 200, 1_000_000);
    HttpResponse<String> r =
        http.get(
            "/metrics",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
    assertThat(r.headers().firstValue("Content-Type"))
        .hasValue("application/openmetrics-text; version=1.0.0; charset=utf-8");
    assertThat(r.body()).endsWith("# EOF\n");
    List<PromText.Sample> s = PromText.parse(r.body(), true);
    assertThat(
            PromText.value(
                s,
                "lull_requests_seconds_count",
                Map.of("method", "GET", "route", "/", "status", "200")))
        .isEqualTo(1);
  }

  @Test
  void recordingTheSameLabelsReusesOneTimer() {
    RequestMetrics m = admin.requestMetrics();
    int before = admin.registry().getMeters().size();
    for (int i = 0; i < 1000; i++) m.record("GET", "/a", 200, 1000);
    assertThat(admin.registry().getMeters().size()).isEqualTo(before + 1);
    assertThat(admin.registry().get("lull.requests").tag("route", "/a").timer().count())
        .isEqualTo(1000);
  }

  private List<PromText.Sample> scrape() throws Exception {
    HttpResponse<String> r = http.get("/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    return PromText.parse(r.body(), false);
  }

  /** The count of the largest bucket whose upper bound is at most {@code le}. */
  private static double bucketAtMost(List<PromText.Sample> buckets, double le) {
    double count = 0;
    for (PromText.Sample b : buckets) {
      if (le(b) <= le) count = b.value();
    }
    return count;
  }

  private static double le(PromText.Sample bucket) {
    String le = bucket.labels().get("le");
    return le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
  }

  private static org.assertj.core.data.Offset<Double> within() {
    return org.assertj.core.data.Offset.offset(1e-9);
  }
}
