package dev.lull.server.internal.admin;

import dev.lull.core.ActivityTracker;
import dev.lull.core.ConnectionState;
import dev.lull.core.Durations;
import dev.lull.core.Lifecycle;
import dev.lull.core.Phase;
import dev.lull.core.Work;
import dev.lull.server.BoundListener;
import dev.lull.server.ReadinessCheck;
import dev.lull.server.Request;
import dev.lull.server.Response;
import dev.lull.server.Router;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmInfoMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The admin plane's HTTP side: the routes an operator, a load balancer, Kubernetes or Prometheus
 * call, served on their own listener (see docs/ADMIN.md).
 *
 * <ul>
 *   <li>{@code GET /livez} — 200 while the process is healthy: the lifecycle has not terminated and
 *       the event loops run tasks (within {@code livenessTimeout}, default 1s). Never runs the
 *       readiness checks.
 *   <li>{@code GET /readyz} — 200 while the lifecycle is {@link Lifecycle#isReady() ready} and
 *       every {@link ReadinessCheck} passes; 503 from the first instant of a stop. JSON body with
 *       the phase and the failing checks.
 *   <li>{@code GET /metrics} — Prometheus text format (OpenMetrics when the scraper asks for it).
 *   <li>{@code GET /status} — a self-refreshing HTML page; {@code GET /status.json} — the same
 *       data.
 * </ul>
 *
 * Every response carries {@code Cache-Control: no-store}. Build one per server; {@link #close()} it
 * when the server is released (it unregisters the JVM garbage-collection listeners).
 */
public final class AdminPlane implements AutoCloseable {
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  static final String OPENMETRICS_TEXT =
      "application/openmetrics-text; version=1.0.0; charset=utf-8";
  private static final String JSON = "application/json";

  private final Lifecycle lifecycle;
  private final ActivityTracker tracker;
  private final PrometheusMeterRegistry registry;
  private final Supplier<List<BoundListener>> listeners;
  private final InFlightSource inFlight;
  private final LivenessProbe liveness;
  private final Duration livenessTimeout;
  private final ReadinessChecks readiness;
  private final Clock wallClock;
  private final RequestMetrics requestMetrics;
  private final JvmGcMetrics gcMetrics;
  private final Router router;

  private AdminPlane(Builder b) {
    this.lifecycle = b.lifecycle;
    this.tracker = b.lifecycle.tracker();
    this.registry =
        b.registry != null ? b.registry : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    this.listeners = b.listeners;
    this.inFlight = b.inFlight;
    this.liveness = b.liveness;
    this.livenessTimeout = b.livenessTimeout;
    this.readiness = new ReadinessChecks(lifecycle, b.checks, b.readinessTimeout);
    this.wallClock = b.wallClock;
    new LifecycleMetrics(lifecycle).bindTo(registry);
    this.requestMetrics = new RequestMetrics(registry);
    if (b.jvmMetrics) {
      new ClassLoaderMetrics().bindTo(registry);
      new JvmMemoryMetrics().bindTo(registry);
      new JvmThreadMetrics().bindTo(registry);
      new JvmInfoMetrics().bindTo(registry);
      new ProcessorMetrics().bindTo(registry);
      new UptimeMetrics().bindTo(registry);
      new FileDescriptorMetrics().bindTo(registry);
      this.gcMetrics = new JvmGcMetrics();
      gcMetrics.bindTo(registry);
    } else {
      this.gcMetrics = null;
    }
    this.router =
        Router.builder()
            .get("/", (req, res) -> noStore(res).status(302).header("Location", "status").send(""))
            .get("/livez", this::livez)
            .get("/readyz", this::readyz)
            .get("/metrics", this::metrics)
            .get("/status", this::status)
            .get("/status.json", this::statusJson)
            .build();
  }

  /** A builder for the admin plane of {@code lifecycle} (and its tracker). */
  public static Builder builder(Lifecycle lifecycle) {
    return new Builder(lifecycle);
  }

  /** The routes, to serve on the admin listener. */
  public Router router() {
    return router;
  }

  /** Where the engine records its requests. */
  public RequestMetrics requestMetrics() {
    return requestMetrics;
  }

  /** The registry {@code /metrics} scrapes; applications may add their own meters to it. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** What the server is doing now, as {@code /status} shows it. */
  public StatusSnapshot snapshot() {
    long now = tracker.ticker().read();
    List<InFlight> requests = new ArrayList<>(inFlight.inFlight());
    requests.sort(Comparator.comparing(InFlight::age).reversed());
    List<StatusSnapshot.WorkInfo> work = new ArrayList<>();
    for (Work w : tracker.work()) {
      work.add(
          new StatusSnapshot.WorkInfo(
              w.id(),
              w.kind(),
              w.description(),
              Duration.ofNanos(Math.max(0, now - w.startedAt())),
              w.isCancelled()));
    }
    return new StatusSnapshot(
        wallClock.instant(),
        Duration.ofMillis(ManagementFactory.getRuntimeMXBean().getUptime()),
        lifecycle.phase(),
        lifecycle.isReady(),
        lifecycle.stopReason(),
        listeners.get(),
        tracker.counts(),
        tracker.busy(),
        tracker.idleTimeout(),
        tracker.untilIdle(now),
        lifecycle.drainDelay(),
        lifecycle.stopTimeout(),
        lifecycle.killTimeout(),
        requests,
        work);
  }

  /** Runs the readiness checks (unless a stop has begun) and says what {@code /readyz} answers. */
  public boolean ready() throws InterruptedException {
    return readiness.evaluate().ready();
  }

  /** Unregisters the JVM garbage-collection listeners. The registry stays usable. Idempotent. */
  @Override
  public void close() {
    if (gcMetrics != null) gcMetrics.close();
  }

  // ---------------------------------------------------------------- routes

  private void livez(Request req, Response res) throws InterruptedException {
    Phase phase = lifecycle.phase();
    String problem = null;
    if (phase == Phase.TERMINATED) {
      problem = "terminated";
    } else {
      try {
        liveness.probe().get(livenessTimeout.toNanos(), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        problem = "event loops did not run a task within " + Durations.format(livenessTimeout);
      } catch (ExecutionException e) {
        // Event loops refuse tasks once released: expected at the end of a stop.
        if (phase != Phase.STOPPING) problem = "event loops refused a task: " + e.getCause();
      }
    }
    Json j = new Json().beginObject();
    j.name("live").value(problem == null);
    j.name("phase").value(label(phase));
    if (problem != null) j.name("problem").value(problem);
    send(res, problem == null ? 200 : 503, JSON, j.endObject() + "\n");
  }

  private void readyz(Request req, Response res) throws InterruptedException {
    ReadinessChecks.Result r = readiness.evaluate();
    send(res, r.ready() ? 200 : 503, JSON, r.toJson() + "\n");
  }

  private void metrics(Request req, Response res) {
    boolean openMetrics =
        req.headers("Accept").stream()
            .anyMatch(a -> a.toLowerCase(Locale.ROOT).contains("application/openmetrics-text"));
    String type = openMetrics ? OPENMETRICS_TEXT : PROMETHEUS_TEXT;
    send(res, 200, type, registry.scrape(type));
  }

  private void status(Request req, Response res) {
    send(res, 200, StatusPage.CONTENT_TYPE, StatusPage.render(snapshot()));
  }

  private void statusJson(Request req, Response res) {
    send(res, 200, JSON, snapshot().toJson() + "\n");
  }

  private static Response noStore(Response res) {
    return res.header("Cache-Control", "no-store");
  }

  private static void send(Response res, int status, String contentType, String body) {
    noStore(res).status(status).header("Content-Type", contentType);
    res.send(body.getBytes(StandardCharsets.UTF_8));
  }

  /** A phase as the admin plane writes it: {@code running}. */
  static String label(Phase phase) {
    return phase.name().toLowerCase(Locale.ROOT);
  }

  /** A connection state as the admin plane writes it: {@code active}. */
  static String label(ConnectionState state) {
    return state.name().toLowerCase(Locale.ROOT);
  }

  /** Builds an {@link AdminPlane}. Every setter documents its default. */
  public static final class Builder {
    private final Lifecycle lifecycle;
    private PrometheusMeterRegistry registry;
    private Supplier<List<BoundListener>> listeners = List::of;
    private InFlightSource inFlight = InFlightSource.NONE;
    private LivenessProbe liveness = LivenessProbe.alwaysAlive();
    private Duration livenessTimeout = Duration.ofSeconds(1);
    private Duration readinessTimeout = Duration.ofSeconds(1);
    private final Map<String, ReadinessCheck> checks = new LinkedHashMap<>();
    private boolean jvmMetrics = true;
    private Clock wallClock = Clock.systemUTC();

    private Builder(Lifecycle lifecycle) {
      this.lifecycle = Objects.requireNonNull(lifecycle, "lifecycle");
    }

    /** The registry to fill and scrape. Default: a new {@link PrometheusMeterRegistry}. */
    public Builder registry(PrometheusMeterRegistry registry) {
      this.registry = Objects.requireNonNull(registry, "registry");
      return this;
    }

    /** The public listeners, for the status page. Default: none. */
    public Builder listeners(Supplier<List<BoundListener>> listeners) {
      this.listeners = Objects.requireNonNull(listeners, "listeners");
      return this;
    }

    /** The requests in flight, for the status page. Default: none reported. */
    public Builder inFlight(InFlightSource inFlight) {
      this.inFlight = Objects.requireNonNull(inFlight, "inFlight");
      return this;
    }

    /** How {@code /livez} asks the event loops whether they run. Default: always alive. */
    public Builder liveness(LivenessProbe liveness) {
      this.liveness = Objects.requireNonNull(liveness, "liveness");
      return this;
    }

    /** How long {@code /livez} waits for the event loops. Default 1s. */
    public Builder livenessTimeout(Duration timeout) {
      this.livenessTimeout = positive("livenessTimeout", timeout);
      return this;
    }

    /** How long {@code /readyz} waits for each readiness check. Default 1s. */
    public Builder readinessTimeout(Duration timeout) {
      this.readinessTimeout = positive("readinessTimeout", timeout);
      return this;
    }

    /**
     * Adds a readiness check, shown in {@code /readyz} under {@code name}.
     *
     * @throws IllegalArgumentException if the name is blank or already used
     */
    public Builder readinessCheck(String name, ReadinessCheck check) {
      Objects.requireNonNull(check, "check");
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("readiness check name is blank: \"" + name + "\"");
      }
      if (checks.putIfAbsent(name, check) != null) {
        throw new IllegalArgumentException("duplicate readiness check: " + name);
      }
      return this;
    }

    /** Adds the checks of {@code named}, in its iteration order. */
    public Builder readinessChecks(Map<String, ReadinessCheck> named) {
      named.forEach(this::readinessCheck);
      return this;
    }

    /** Whether to bind the JVM and process metrics of micrometer-core. Default true. */
    public Builder jvmMetrics(boolean jvmMetrics) {
      this.jvmMetrics = jvmMetrics;
      return this;
    }

    /** The wall clock for the status page's timestamp. Default UTC system clock. */
    public Builder wallClock(Clock wallClock) {
      this.wallClock = Objects.requireNonNull(wallClock, "wallClock");
      return this;
    }

    public AdminPlane build() {
      return new AdminPlane(this);
    }

    private static Duration positive(String name, Duration d) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " <= 0: " + Durations.format(d));
      }
      return d;
    }
  }
}
