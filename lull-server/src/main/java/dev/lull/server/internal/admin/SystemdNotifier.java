package dev.lull.server.internal.admin;

import dev.lull.core.ActivityCounts;
import dev.lull.core.ActivityTracker;
import dev.lull.core.Durations;
import dev.lull.core.Lifecycle;
import dev.lull.core.LifecycleListener;
import dev.lull.core.Phase;
import dev.lull.core.PhaseChange;
import dev.lull.core.Scheduler;
import dev.lull.core.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Tells systemd what the lifecycle does, through {@link SdNotify}:
 *
 * <ul>
 *   <li>{@code READY=1} when the lifecycle enters {@link Phase#RUNNING} (every listener accepts);
 *   <li>{@code STOPPING=1} when a stop begins;
 *   <li>{@code STATUS=...} on every phase change ({@code serving 3 connections (1 active, 2 idle)},
 *       {@code draining 2 connections}, {@code stopped (idle)}) and, when the text changed, every
 *       {@code statusInterval} (default 5s);
 *   <li>{@code EXTEND_TIMEOUT_USEC=...} every {@code statusInterval} during a stop, while it is
 *       within {@code drainDelay + stopTimeout + killTimeout} of its start (forever with a stop
 *       timeout of zero), so that a {@code TimeoutStopSec} shorter than that does not cut a drain
 *       Lull still considers in time; once past it, systemd's own timeout applies again;
 *   <li>{@code WATCHDOG=1} every half of {@code WATCHDOG_USEC}, but only if the event loops ran the
 *       task the previous ping submitted ({@link LivenessProbe}): a stuck event loop stops the
 *       pings, and systemd restarts the service ({@code WatchdogSec=}, {@code Restart=}).
 * </ul>
 *
 * Timers run on the lifecycle tracker's {@link Scheduler} and read its {@link Ticker}, so a test
 * drives them with a {@link dev.lull.core.testing.ManualClock}. Messages are sent on the thread of
 * the event (the lifecycle's thread for phase changes, the scheduler's for timers), each waiting
 * for its datagram to be written, in order. Nothing here throws at the caller: failing to notify is
 * logged once by {@link SdNotify}. After {@code TERMINATED} the notifier stops its timers and
 * closes its socket.
 */
public final class SystemdNotifier implements LifecycleListener, AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.lull.systemd");

  /** The default interval between STATUS refreshes and EXTEND_TIMEOUT_USEC messages: 5 seconds. */
  public static final Duration DEFAULT_STATUS_INTERVAL = Duration.ofSeconds(5);

  private final Lifecycle lifecycle;
  private final ActivityTracker tracker;
  private final Ticker ticker;
  private final Scheduler scheduler;
  private final SdNotify notify;
  private final Optional<Duration> watchdogInterval;
  private final LivenessProbe probe;
  private final Duration statusInterval;

  private final ReentrantLock lock = new ReentrantLock();
  // Guarded by lock.
  private boolean closed;
  private boolean statusTimerStarted;
  private Scheduler.Cancellable statusTimer;
  private Scheduler.Cancellable watchdogTimer;
  private CompletableFuture<Void> pendingProbe;
  private boolean stuck;
  private String lastStatus;
  private boolean stopping;
  private long stopBudgetEnd; // ticker time; Long.MAX_VALUE for no limit

  private SystemdNotifier(
      Lifecycle lifecycle,
      SdNotify notify,
      Optional<Duration> watchdog,
      LivenessProbe probe,
      Duration statusInterval) {
    this.lifecycle = lifecycle;
    this.tracker = lifecycle.tracker();
    this.ticker = tracker.ticker();
    this.scheduler = tracker.scheduler();
    this.notify = notify;
    this.watchdogInterval =
        watchdog.map(w -> Duration.ofMillis(w.toMillis() / 2)).filter(w -> !w.isZero());
    this.probe = probe;
    this.statusInterval = statusInterval;
  }

  /**
   * If this process was started by systemd with {@code NOTIFY_SOCKET}, makes a notifier for {@code
   * lifecycle} and starts it (see {@link #install(Lifecycle, SdNotify, Optional, LivenessProbe,
   * Duration)}); otherwise returns empty. {@linkplain SystemdEnvironment#claim() Claims} the
   * environment, which removes the variables from it: only the first server of a process notifies.
   */
  public static Optional<SystemdNotifier> install(Lifecycle lifecycle, LivenessProbe probe) {
    SystemdEnvironment env = SystemdEnvironment.claim();
    for (String problem : env.problems()) LOG.log(System.Logger.Level.WARNING, problem);
    if (env.notifySocket().isEmpty()) {
      if (env.watchdog().isPresent()) {
        LOG.log(System.Logger.Level.WARNING, "WATCHDOG_USEC is set without NOTIFY_SOCKET: ignored");
      }
      return Optional.empty();
    }
    SdNotify notify;
    try {
      notify = SdNotify.open(env.notifySocket().get());
    } catch (IllegalArgumentException e) {
      LOG.log(System.Logger.Level.WARNING, e.getMessage() + ": not notifying systemd");
      return Optional.empty();
    }
    return Optional.of(install(lifecycle, notify, env.watchdog(), probe, DEFAULT_STATUS_INTERVAL));
  }

  /**
   * Makes a notifier that sends to {@code notify}, adds it to {@code lifecycle}'s listeners and
   * starts the watchdog pings if {@code watchdog} (the {@code WATCHDOG_USEC} timeout) is present.
   * Install it before {@link Lifecycle#start()}, so that it sees {@code RUNNING}.
   *
   * @param probe asks the event loops whether they run; every watchdog ping needs an answer
   * @param statusInterval how often STATUS is refreshed and a stop's timeout extended
   */
  public static SystemdNotifier install(
      Lifecycle lifecycle,
      SdNotify notify,
      Optional<Duration> watchdog,
      LivenessProbe probe,
      Duration statusInterval) {
    Objects.requireNonNull(lifecycle, "lifecycle");
    Objects.requireNonNull(notify, "notify");
    Objects.requireNonNull(watchdog, "watchdog");
    Objects.requireNonNull(probe, "probe");
    if (statusInterval.isNegative() || statusInterval.isZero()) {
      throw new IllegalArgumentException(
          "statusInterval <= 0: " + Durations.format(statusInterval));
    }
    SystemdNotifier n = new SystemdNotifier(lifecycle, notify, watchdog, probe, statusInterval);
    lifecycle.addListener(n);
    n.startWatchdog();
    return n;
  }

  /** The interval between watchdog pings: half of {@code WATCHDOG_USEC}, if there is a watchdog. */
  public Optional<Duration> watchdogInterval() {
    return watchdogInterval;
  }

  // ---------------------------------------------------------------- lifecycle events

  @Override
  public void phaseChanged(PhaseChange c) {
    List<String> msg = new ArrayList<>();
    lock.lock();
    try {
      if (closed) return;
      long now = ticker.read();
      switch (c.to()) {
        case RUNNING -> msg.add("READY=1");
        case DRAINING -> beginStop(msg, now);
        case STOPPING -> {
          if (!stopping) beginStop(msg, now); // stopped before start, or start failed
        }
        default -> {}
      }
      String status = statusText(c.to());
      lastStatus = status;
      msg.add("STATUS=" + status);
      if (c.to() != Phase.TERMINATED) {
        addExtension(msg, now);
        startStatusTimer();
      }
    } finally {
      lock.unlock();
    }
    notify.send(String.join("\n", msg));
    if (c.to() == Phase.TERMINATED) close();
  }

  /** Under the lock. */
  private void beginStop(List<String> msg, long now) {
    stopping = true;
    msg.add("STOPPING=1");
    Duration stopTimeout = lifecycle.stopTimeout();
    if (stopTimeout.isZero()) {
      stopBudgetEnd = Long.MAX_VALUE;
    } else {
      Duration budget = lifecycle.drainDelay().plus(stopTimeout).plus(lifecycle.killTimeout());
      stopBudgetEnd = saturatedAdd(now, budget);
    }
  }

  /** Under the lock: asks systemd for more time if a stop is in progress and within its budget. */
  private void addExtension(List<String> msg, long now) {
    if (!stopping || now >= stopBudgetEnd) return;
    long interval = saturatedNanos(statusInterval);
    long extension =
        stopBudgetEnd == Long.MAX_VALUE
            ? 2 * interval
            : Math.min(2 * interval, saturatedAdd(stopBudgetEnd - now, statusInterval));
    msg.add("EXTEND_TIMEOUT_USEC=" + Math.max(1, extension / 1_000));
  }

  // ---------------------------------------------------------------- status timer

  /** Under the lock. */
  private void startStatusTimer() {
    if (statusTimerStarted) return;
    statusTimerStarted = true;
    statusTimer = scheduler.schedule(this::statusTick, statusInterval);
  }

  private void statusTick() {
    List<String> msg = new ArrayList<>();
    lock.lock();
    try {
      if (closed) return;
      long now = ticker.read();
      String status = statusText(lifecycle.phase());
      if (!status.equals(lastStatus)) {
        lastStatus = status;
        msg.add("STATUS=" + status);
      }
      addExtension(msg, now);
      statusTimer = scheduler.schedule(this::statusTick, statusInterval);
    } finally {
      lock.unlock();
    }
    if (!msg.isEmpty()) notify.send(String.join("\n", msg));
  }

  /** What {@code STATUS=} says in {@code phase}, from the tracker's counts now. */
  String statusText(Phase phase) {
    ActivityCounts c = tracker.counts();
    return switch (phase) {
      case STARTING -> "starting";
      case RUNNING ->
          "serving "
              + plural(c.open(), "connection")
              + " ("
              + c.active()
              + " active, "
              + c.idle()
              + " idle)"
              + work(c);
      case DRAINING -> "draining " + plural(c.open(), "connection") + work(c);
      case STOPPING -> "stopping: " + plural(c.open(), "connection") + " left" + work(c);
      case TERMINATED ->
          "stopped" + lifecycle.stopReason().map(r -> " (" + r.label() + ")").orElse("");
    };
  }

  private static String work(ActivityCounts c) {
    return c.work() == 0 ? "" : ", " + plural(c.work(), "job");
  }

  private static String plural(long n, String word) {
    return n + " " + word + (n == 1 ? "" : "s");
  }

  // ---------------------------------------------------------------- watchdog

  private void startWatchdog() {
    if (watchdogInterval.isEmpty()) return;
    lock.lock();
    try {
      pendingProbe = probe.probe();
      watchdogTimer = scheduler.schedule(this::watchdogTick, watchdogInterval.get());
    } finally {
      lock.unlock();
    }
    LOG.log(
        System.Logger.Level.DEBUG,
        () -> "watchdog: pinging every " + Durations.format(watchdogInterval.get()));
  }

  private void watchdogTick() {
    boolean ping;
    String warning = null;
    lock.lock();
    try {
      if (closed) return;
      CompletableFuture<Void> p = pendingProbe;
      boolean refused = p.isCompletedExceptionally();
      // Event loops refuse tasks once released, at the very end of a stop: that is not stuck.
      boolean released = refused && lifecycle.phase().compareTo(Phase.STOPPING) >= 0;
      ping = (p.isDone() && !refused) || released;
      if (ping) {
        if (stuck) warning = "watchdog: event loops answer again; pinging";
        stuck = false;
        pendingProbe = probe.probe();
      } else if (!stuck) {
        stuck = true;
        warning =
            "watchdog: event loops did not run a task within "
                + Durations.format(watchdogInterval.get())
                + (refused ? " (refused)" : "")
                + "; not pinging, systemd will restart the service if this lasts";
      }
      watchdogTimer = scheduler.schedule(this::watchdogTick, watchdogInterval.get());
    } finally {
      lock.unlock();
    }
    if (warning != null) LOG.log(System.Logger.Level.WARNING, warning);
    if (ping) notify.send("WATCHDOG=1");
  }

  /** Stops the timers and closes the socket. Called on {@code TERMINATED}; idempotent. */
  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) return;
      closed = true;
      if (statusTimer != null) statusTimer.cancel();
      if (watchdogTimer != null) watchdogTimer.cancel();
    } finally {
      lock.unlock();
    }
    notify.close();
  }

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  private static long saturatedAdd(long t, Duration d) {
    long n = saturatedNanos(d);
    long r = t + n;
    return r < t ? Long.MAX_VALUE : r;
  }

  @Override
  public String toString() {
    return "SystemdNotifier(" + notify.address() + ")";
  }
}
