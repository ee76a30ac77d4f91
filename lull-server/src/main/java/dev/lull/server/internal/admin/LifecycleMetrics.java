package dev.lull.server.internal.admin;

import dev.lull.core.ActivityListener;
import dev.lull.core.ActivityTracker;
import dev.lull.core.ConnectionState;
import dev.lull.core.Lifecycle;
import dev.lull.core.Phase;
import dev.lull.core.Work;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.Optional;

/**
 * Binds the lifecycle and its activity tracker to Micrometer. Every value is read when the registry
 * is scraped, so nothing here runs on the request path; only work ending records a timer. In
 * Prometheus names:
 *
 * <ul>
 *   <li>{@code lull_connections{state="new|active|idle|hijacked"}} — open connections by state
 *   <li>{@code lull_connections_accepted_total}, {@code lull_connections_closed_total}
 *   <li>{@code lull_busy} — what keeps the server from going idle (NEW, ACTIVE, HIJACKED, work)
 *   <li>{@code lull_work_running} — tracked work (jobs) running; {@code
 *       lull_work_seconds{kind,cancelled}} — a timer of work that ended
 *   <li>{@code lull_idle_countdown_seconds} — time left before the idle exit; NaN while it does not
 *       count down (busy, no idle timeout, or stopping)
 *   <li>{@code lull_idle_timeout_seconds} — the configured idle timeout (only when set)
 *   <li>{@code lull_lifecycle_phase{phase="starting|running|draining|stopping|terminated"}} — 1 for
 *       the current phase, 0 for the others (a state set)
 *   <li>{@code lull_ready} — 1 while {@code /readyz} would pass before its checks
 * </ul>
 *
 * Bind it once per registry: each binding adds an activity listener to the tracker. The gauges hold
 * the tracker and the lifecycle strongly (Micrometer's default is weakly, which would turn them
 * into NaN once nothing else referred to them).
 */
public final class LifecycleMetrics implements MeterBinder {
  private static final ConnectionState[] OPEN_STATES = {
    ConnectionState.NEW, ConnectionState.ACTIVE, ConnectionState.IDLE, ConnectionState.HIJACKED
  };

  private final Lifecycle lifecycle;
  private final ActivityTracker tracker;

  public LifecycleMetrics(Lifecycle lifecycle) {
    this.lifecycle = lifecycle;
    this.tracker = lifecycle.tracker();
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    for (ConnectionState state : OPEN_STATES) {
      Gauge.builder("lull.connections", tracker, t -> t.counts().connections(state))
          .tag("state", AdminPlane.label(state))
          .description("Open connections by state")
          .strongReference(true)
          .register(registry);
    }
    FunctionCounter.builder("lull.connections.accepted", tracker, t -> t.counts().accepted())
        .description("Connections accepted")
        .register(registry);
    FunctionCounter.builder("lull.connections.closed", tracker, t -> t.counts().closed())
        .description("Connections closed")
        .register(registry);
    Gauge.builder("lull.busy", tracker, ActivityTracker::busy)
        .description("Connections (new, active, hijacked) and work that keep the server awake")
        .strongReference(true)
        .register(registry);
    Gauge.builder("lull.work.running", tracker, t -> t.counts().work())
        .description("Tracked work (jobs) running")
        .strongReference(true)
        .register(registry);
    Gauge.builder("lull.idle.countdown", tracker, LifecycleMetrics::idleCountdownSeconds)
        .baseUnit("seconds")
        .description("Time left before the idle exit; NaN while it does not count down")
        .strongReference(true)
        .register(registry);
    Optional<Duration> idle = tracker.idleTimeout();
    if (idle.isPresent()) {
      double seconds = idle.get().toNanos() / 1e9;
      Gauge.builder("lull.idle.timeout", () -> seconds)
          .baseUnit("seconds")
          .description("The configured idle timeout")
          .register(registry);
    }
    for (Phase phase : Phase.values()) {
      Gauge.builder("lull.lifecycle.phase", lifecycle, l -> l.phase() == phase ? 1 : 0)
          .tag("phase", AdminPlane.label(phase))
          .description("1 for the lifecycle's current phase, 0 for the others")
          .strongReference(true)
          .register(registry);
    }
    Gauge.builder("lull.ready", lifecycle, l -> l.isReady() ? 1 : 0)
        .description("1 while the server is running and no stop has begun")
        .strongReference(true)
        .register(registry);
    tracker.addActivityListener(
        new ActivityListener() {
          @Override
          public void workEnded(Work work, Duration took) {
            Timer.builder("lull.work")
                .tag("kind", work.kind())
                .tag("cancelled", Boolean.toString(work.isCancelled()))
                .description("Tracked work (jobs) that ended")
                .register(registry)
                .record(took);
          }
        });
  }

  private static double idleCountdownSeconds(ActivityTracker tracker) {
    return tracker
        .untilIdle(tracker.ticker().read())
        .map(d -> d.toNanos() / 1e9)
        .orElse(Double.NaN);
  }
}
