package dev.lull.server.internal.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lull.core.ActivityTracker;
import dev.lull.core.ConnectionState;
import dev.lull.core.Lifecycle;
import dev.lull.core.Phase;
import dev.lull.core.StopReason;
import dev.lull.core.testing.ManualClock;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code /readyz} and {@code /livez} over real HTTP, driven by a real {@link Lifecycle} whose
 * engine is a {@link FakeDrainable} and whose time is a {@link ManualClock}.
 */
class ReadinessTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ManualClock clock = new ManualClock();
  private final FakeDrainable engine = new FakeDrainable(clock);
  private final AtomicBoolean dbUp = new AtomicBoolean(true);
  private ActivityTracker tracker;
  private Lifecycle lifecycle;
  private AdminPlane admin;
  private AdminHttp http;

  @BeforeEach
  void setUp() {
    tracker = ActivityTracker.builder().ticker(clock).scheduler(clock).build();
    engine.tracker = tracker;
    lifecycle =
        Lifecycle.builder(engine, tracker)
            .executor(Runnable::run)
            .drainDelay(Duration.ofSeconds(5))
            .stopTimeout(Duration.ofSeconds(20))
            .killTimeout(Duration.ofSeconds(5))
            .build();
    admin =
        AdminPlane.builder(lifecycle)
            .jvmMetrics(false)
            .readinessCheck(
                "db",
                () -> {
                  if (!dbUp.get()) throw new IllegalStateException("connection refused");
                })
            .build();
    http = new AdminHttp(admin.router());
  }

  @AfterEach
  void tearDown() {
    http.close();
    admin.close();
  }

  @Test
  void notReadyBeforeStartThenReadyWhileRunning() throws Exception {
    HttpResponse<String> before = http.get("/readyz");
    assertThat(before.statusCode()).isEqualTo(503);
    assertThat(json(before).get("phase").asText()).isEqualTo("starting");

    lifecycle.start();
    HttpResponse<String> running = http.get("/readyz");
    assertThat(running.statusCode()).isEqualTo(200);
    JsonNode body = json(running);
    assertThat(body.get("ready").asBoolean()).isTrue();
    assertThat(body.get("phase").asText()).isEqualTo("running");
    assertThat(body.get("checks").get(0).get("name").asText()).isEqualTo("db");
    assertThat(body.get("checks").get(0).get("ok").asBoolean()).isTrue();
    assertThat(running.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(running.headers().firstValue("Cache-Control")).hasValue("no-store");
  }

  @Test
  void failingCheckMakesItNotReadyAndNamesTheCheck() throws Exception {
    lifecycle.start();
    dbUp.set(false);
    HttpResponse<String> down = http.get("/readyz");
    assertThat(down.statusCode()).isEqualTo(503);
    JsonNode body = json(down);
    assertThat(body.get("phase").asText()).isEqualTo("running");
    assertThat(body.get("failing").toString()).isEqualTo("[\"db\"]");
    assertThat(body.get("checks").get(0).get("error").asText()).isEqualTo("connection refused");

    // Liveness never runs readiness checks: a database outage must not restart the process.
    assertThat(http.get("/livez").statusCode()).isEqualTo(200);

    dbUp.set(true);
    assertThat(http.get("/readyz").statusCode()).isEqualTo(200);
  }

  @Test
  void checkThatHangsTimesOutAndIsInterrupted() throws Exception {
    CountDownLatch interrupted = new CountDownLatch(1);
    try (AdminPlane slow =
            AdminPlane.builder(lifecycle)
                .jvmMetrics(false)
                .readinessTimeout(Duration.ofMillis(200))
                .readinessCheck(
                    "hangs",
                    () -> {
                      try {
                        new CountDownLatch(1).await();
                      } catch (InterruptedException e) {
                        interrupted.countDown();
                        throw e;
                      }
                    })
                .build();
        AdminHttp slowHttp = new AdminHttp(slow.router())) {
      lifecycle.start();
      HttpResponse<String> r = slowHttp.get("/readyz");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(json(r).get("checks").get(0).get("error").asText())
          .isEqualTo("timed out after 200ms");
      assertThat(interrupted.await(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void readinessTurns503AtTheFirstInstantOfAStopWhileTheServerStillServes() throws Exception {
    lifecycle.start();
    engine.open(1, ConnectionState.ACTIVE); // a request in flight
    assertThat(http.get("/readyz").statusCode()).isEqualTo(200);

    lifecycle.stop(StopReason.SIGNAL);

    // Readiness is off at once, while the drain delay keeps the listeners open and serving.
    HttpResponse<String> draining = http.get("/readyz");
    assertThat(draining.statusCode()).isEqualTo(503);
    JsonNode body = json(draining);
    assertThat(body.get("phase").asText()).isEqualTo("draining");
    assertThat(body.get("stopReason").asText()).isEqualTo("signal");
    assertThat(body.get("checks").size()).isZero(); // no point pinging the database now
    assertThat(engine.events).containsExactly("0s start");
    assertThat(http.get("/livez").statusCode()).isEqualTo(200);

    // After the drain delay the listeners close; readiness stays off, the request still runs.
    clock.advance(Duration.ofSeconds(5));
    assertThat(engine.events).containsExactly("0s start", "5s stopAccepting", "5s enterLameDuck");
    assertThat(http.get("/readyz").statusCode()).isEqualTo(503);
    assertThat(lifecycle.phase()).isEqualTo(Phase.DRAINING);
    assertThat(http.get("/livez").statusCode()).isEqualTo(200);

    // The request ends, the lifecycle terminates, and liveness goes too.
    engine.move(1, ConnectionState.CLOSED);
    assertThat(lifecycle.phase()).isEqualTo(Phase.TERMINATED);
    HttpResponse<String> dead = http.get("/livez");
    assertThat(dead.statusCode()).isEqualTo(503);
    assertThat(json(dead).get("phase").asText()).isEqualTo("terminated");
  }

  @Test
  void livezFailsWhenTheEventLoopsDoNotAnswer() throws Exception {
    try (AdminPlane stuck =
            AdminPlane.builder(lifecycle)
                .jvmMetrics(false)
                .liveness(java.util.concurrent.CompletableFuture::new) // never answers
                .livenessTimeout(Duration.ofMillis(100))
                .build();
        AdminHttp stuckHttp = new AdminHttp(stuck.router())) {
      lifecycle.start();
      HttpResponse<String> r = stuckHttp.get("/livez");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(json(r).get("problem").asText())
          .isEqualTo("event loops did not run a task within 100ms");
      assertThat(http.get("/livez").statusCode()).isEqualTo(200);
    }
  }

  private static JsonNode json(HttpResponse<String> r) throws Exception {
    return JSON.readTree(r.body());
  }
}
