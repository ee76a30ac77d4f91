package dev.lull.core;

import dev.lull.core.spi.Drainable;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

/**
 * The life of a server, as one state machine: {@code STARTING -> RUNNING -> DRAINING -> STOPPING ->
 * TERMINATED} (see {@link Phase}). Entered by a signal ({@link Signals}), the idle timer of its
 * {@link ActivityTracker}, or {@link #stop(StopReason)}.
 *
 * <h2>A stop, step by step</h2>
 *
 * <ol>
 *   <li>{@link #isReady()} turns false at the first instant of the stop request, before anything
 *       else changes; the phase becomes {@link Phase#DRAINING}; the idle timer is closed.
 *   <li>For {@code drainDelay} (default 0) the server keeps serving normally, so that load
 *       balancers polling readiness notice before anything closes.
 *   <li>{@link Drainable#stopAccepting()}, then {@link Drainable#enterLameDuck()}.
 *   <li>Waits until every connection is closed and all tracked work has ended ({@link
 *       ActivityTracker#drained()} — a notification, not polling), up to {@code stopTimeout}
 *       (default 20s; {@link Duration#ZERO} waits forever).
 *   <li>{@link Phase#STOPPING}. If something remains: {@link Drainable#cancelInFlight()} and {@link
 *       ActivityTracker#cancelWork()}, then waits up to {@code killTimeout} (default 5s; {@code
 *       ZERO} does not wait) for the drain.
 *   <li>{@link Drainable#forceClose()}, {@link Drainable#release()}.
 *   <li>{@link Phase#TERMINATED}: the {@link #onTerminated} hooks run, then {@link #terminated()}
 *       completes and {@link #awaitTermination()} returns.
 * </ol>
 *
 * So a stop takes at most {@code drainDelay + stopTimeout + killTimeout} plus the time the engine
 * needs to close and release; an outer deadline (systemd's {@code TimeoutStopSec}, Kubernetes'
 * {@code terminationGracePeriodSeconds}) must be longer.
 *
 * <p>{@link #stopNow(StopReason)} — a second SIGTERM — skips whatever waiting remains: cancels,
 * force-closes, releases. Every transition is logged once (logger {@code dev.lull.lifecycle}) with
 * its reason, duration and counts, and told to the {@link LifecycleListener}s.
 *
 * <h2>Threads</h2>
 *
 * All methods are thread-safe and none blocks except {@link #start()} and {@link
 * #awaitTermination()}: a stop request records itself and returns; the steps run on the {@code
 * executor} (default: a new platform thread named {@code lull-lifecycle} per burst of steps), one
 * at a time, outside the lifecycle's lock, so they never run on an event loop or a signal thread.
 * All time comes from the tracker's {@link Ticker} and {@link Scheduler}: a test gives both a
 * {@link dev.lull.core.testing.ManualClock} and {@code Runnable::run} as executor, and every step
 * happens on its own thread, in order, as it advances the clock.
 *
 * <h2>Plugging in an engine</h2>
 *
 * <pre>{@code
 * ActivityTracker tracker = ActivityTracker.builder().idleTimeout(idle).build();
 * Engine engine = new Engine(settings, tracker);        // reports connection states to tracker
 * Lifecycle lifecycle = Lifecycle.builder(engine, tracker)  // engine implements Drainable
 *     .stopTimeout(stop).killTimeout(kill).build();    // binds tracker's idle action to stop(IDLE)
 * Signals.install(lifecycle);
 * lifecycle.start();
 * System.exit(lifecycle.awaitTermination().exitCode());
 * }</pre>
 */
public final class Lifecycle {
  private static final System.Logger LOG = System.getLogger("dev.lull.lifecycle");
  private static final Runnable CONTINUE = () -> {};

  /** The default {@code stopTimeout}: 20 seconds. */
  public static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(20);

  /** The default {@code killTimeout}: 5 seconds. */
  public static final Duration DEFAULT_KILL_TIMEOUT = Duration.ofSeconds(5);

  /** The default {@code drainDelay}: none. */
  public static final Duration DEFAULT_DRAIN_DELAY = Duration.ZERO;

  private final Drainable drainable;
  private final ActivityTracker tracker;
  private final Ticker ticker;
  private final Scheduler scheduler;
  private final Executor executor;
  private final Duration stopTimeout;
  private final Duration killTimeout;
  private final Duration drainDelay;
  private final List<LifecycleListener> listeners = new CopyOnWriteArrayList<>();
  private final CompletableFuture<Termination> terminated = new CompletableFuture<>();

  private volatile boolean ready;

  private final ReentrantLock lock = new ReentrantLock();
  // Everything below is guarded by lock.
  private volatile Phase phase = Phase.STARTING;
  private long phaseSince;
  private boolean startCalled;
  private StopReason reason;
  private long stopRequestedAt;
  private Duration stopTimeoutInEffect;
  private boolean force;
  private boolean driving;
  private boolean finished;
  private final ArrayDeque<PhaseChange> pendingChanges = new ArrayDeque<>();
  private final List<Consumer<Termination>> hooks = new ArrayList<>();
  private final List<Throwable> failures = new ArrayList<>();

  // Progress of the steps.
  private boolean delayScheduled;
  private boolean delayElapsed;
  private boolean acceptingStopped;
  private boolean lameDuck;
  private boolean drained;
  private boolean stopTimedOut;
  private boolean needCancel;
  private boolean cancelled;
  private boolean killTimedOut;
  private boolean quiesced;
  private boolean forceClosed;
  private boolean released;
  private Scheduler.Cancellable delayTimer;
  private Scheduler.Cancellable stopTimer;
  private Scheduler.Cancellable killTimer;
  private long busyAtStop;
  private int cancelledCount;
  private int forceClosedCount;

  private Lifecycle(Builder b) {
    this.drainable = b.drainable;
    this.tracker = b.tracker;
    this.ticker = b.tracker.ticker();
    this.scheduler = b.tracker.scheduler();
    this.executor = b.executor;
    this.stopTimeout = b.stopTimeout;
    this.killTimeout = b.killTimeout;
    this.drainDelay = b.drainDelay;
    this.stopTimeoutInEffect = b.stopTimeout;
    this.listeners.addAll(b.listeners);
    this.phaseSince = ticker.read();
    tracker.bindIdleAction(() -> stop(StopReason.IDLE));
  }

  /**
   * A builder for the lifecycle of {@code drainable}, whose connections and work {@code tracker}
   * counts. The lifecycle takes the tracker's ticker and scheduler, and binds its idle action to
   * {@code stop(IDLE)}: the tracker must not have an idle action of its own.
   */
  public static Builder builder(Drainable drainable, ActivityTracker tracker) {
    return new Builder(drainable, tracker);
  }

  // ---------------------------------------------------------------- requests

  /**
   * Starts the engine ({@link Drainable#start()} on this thread) and enters {@link Phase#RUNNING};
   * the idle countdown begins. If a stop was requested meanwhile, goes on with the stop instead
   * (what was accepted is drained, not cut).
   *
   * @throws IllegalStateException if called twice, or after a stop
   * @throws RuntimeException what {@link Drainable#start()} threw; the lifecycle then terminates
   *     with {@link StopReason#START_FAILED}, releasing what was opened
   */
  public void start() {
    lock.lock();
    try {
      if (startCalled) throw new IllegalStateException("start() called twice");
      if (reason != null) {
        throw new IllegalStateException("stopped before start (" + reason.label() + ")");
      }
      startCalled = true;
    } finally {
      lock.unlock();
    }
    try {
      drainable.start();
    } catch (RuntimeException | Error e) {
      lock.lock();
      try {
        failures.add(e);
        if (reason == null) stopRequestedAt = ticker.read();
        reason = StopReason.START_FAILED;
        ready = false;
        force = true;
        busyAtStop = tracker.busy();
        changePhase(Phase.STOPPING, "start failed: " + e, Map.of());
      } finally {
        lock.unlock();
      }
      tracker.close();
      kick();
      throw e;
    }
    boolean running = false;
    lock.lock();
    try {
      if (reason == null) {
        changePhase(Phase.RUNNING, "started", Map.of());
        ready = true;
        running = true;
      } else {
        busyAtStop = tracker.busy();
        changePhase(Phase.DRAINING, "stop requested while starting", Map.of());
      }
    } finally {
      lock.unlock();
    }
    if (running) tracker.start();
    kick();
  }

  /**
   * Requests a graceful stop with the configured stop timeout; returns at once. Idempotent: only
   * the first request counts (its reason is the one recorded), later ones return the same outcome.
   * Safe from any thread, concurrently, and before {@link #start()} (then nothing is started and
   * {@code start()} will throw).
   *
   * @return the outcome, completed once {@link Phase#TERMINATED}
   */
  public CompletableFuture<Termination> stop(StopReason reason) {
    return request(reason, null, false);
  }

  /**
   * Requests a graceful stop as {@link #stop(StopReason)}, waiting up to {@code stopTimeout}
   * instead of the configured one ({@link Duration#ZERO}: forever) — if this is the first request.
   *
   * @throws IllegalArgumentException if {@code stopTimeout} is negative
   */
  public CompletableFuture<Termination> stop(StopReason reason, Duration stopTimeout) {
    if (stopTimeout == null) throw new NullPointerException("stopTimeout == null");
    if (stopTimeout.isNegative()) {
      throw new IllegalArgumentException("stopTimeout < 0: " + Durations.format(stopTimeout));
    }
    return request(reason, stopTimeout, false);
  }

  /**
   * Stops at once — what a second SIGTERM does: skips any wait (drain delay, drain, kill timeout),
   * cancels what runs, force-closes every connection, releases. Works as a first request too. The
   * reason recorded is the first request's.
   */
  public CompletableFuture<Termination> stopNow(StopReason reason) {
    return request(reason, null, true);
  }

  private CompletableFuture<Termination> request(StopReason r, Duration timeout, boolean now) {
    if (r == null) throw new NullPointerException("reason == null");
    ready = false; // first, before anything else changes
    boolean first = false;
    boolean forcedNow = false;
    lock.lock();
    try {
      if (phase == Phase.TERMINATED) return terminated.copy();
      if (reason == null) {
        first = true;
        reason = r;
        stopRequestedAt = ticker.read();
        if (timeout != null) stopTimeoutInEffect = timeout;
        busyAtStop = tracker.busy();
        if (phase == Phase.RUNNING) {
          changePhase(
              Phase.DRAINING,
              "readiness off; drain delay "
                  + Durations.format(drainDelay)
                  + ", stop timeout "
                  + formatTimeout(stopTimeoutInEffect),
              Map.of());
        } else if (phase == Phase.STARTING && !startCalled) {
          force = true;
          changePhase(Phase.STOPPING, "stopped before start", Map.of());
        }
        // STARTING with start() running: start() moves on when the engine has started.
      }
      if (now && !force) {
        force = true;
        forcedNow = true;
      }
    } finally {
      lock.unlock();
    }
    if (first) tracker.close();
    if (forcedNow && !first) {
      LOG.log(System.Logger.Level.WARNING, "second stop request ({0}): stopping now", r.label());
    }
    kick();
    return terminated.copy();
  }

  /**
   * Runs {@code hook} once with the outcome when the lifecycle has terminated, before {@link
   * #terminated()} completes: on the lifecycle's thread, or at once on this thread if it already
   * has. Hooks run in the order they were added; one that throws is logged. A hook must not wait
   * for {@link #terminated()}: it completes after the hooks.
   */
  public void onTerminated(Consumer<Termination> hook) {
    if (hook == null) throw new NullPointerException("hook == null");
    lock.lock();
    try {
      if (!finished) {
        hooks.add(hook);
        return;
      }
    } finally {
      lock.unlock();
    }
    runHook(hook, terminated.join());
  }

  /** Adds {@code listener}; it sees the transitions from now on. */
  public void addListener(LifecycleListener listener) {
    if (listener == null) throw new NullPointerException("listener == null");
    listeners.add(listener);
  }

  // ---------------------------------------------------------------- reading

  /** The current phase. */
  public Phase phase() {
    return phase;
  }

  /**
   * Whether the server should receive traffic: true while {@link Phase#RUNNING} and no stop has
   * been requested. Turns false at the very first instant of a stop, before anything else changes
   * (the admin plane answers {@code /readyz} from it).
   */
  public boolean isReady() {
    return ready;
  }

  /** Why the lifecycle stops or stopped, once a stop was requested. */
  public Optional<StopReason> stopReason() {
    lock.lock();
    try {
      return Optional.ofNullable(reason);
    } finally {
      lock.unlock();
    }
  }

  /** The tracker whose counts drive the idle timer and the drain. */
  public ActivityTracker tracker() {
    return tracker;
  }

  /** The configured stop timeout; {@link Duration#ZERO} means forever. */
  public Duration stopTimeout() {
    return stopTimeout;
  }

  /** The configured kill timeout. */
  public Duration killTimeout() {
    return killTimeout;
  }

  /** The configured drain delay. */
  public Duration drainDelay() {
    return drainDelay;
  }

  /**
   * A future of the outcome, completed once the lifecycle has terminated and its hooks have run;
   * never completed exceptionally. Completing the returned future has no effect on the lifecycle.
   */
  public CompletableFuture<Termination> terminated() {
    return terminated.copy();
  }

  /** Waits until the lifecycle has terminated; see {@link #terminated()}. */
  public Termination awaitTermination() throws InterruptedException {
    try {
      return terminated.get();
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  /** Waits up to {@code timeout}; empty if the lifecycle has not terminated by then. */
  public Optional<Termination> awaitTermination(Duration timeout) throws InterruptedException {
    try {
      return Optional.of(terminated.get(timeout.toNanos(), TimeUnit.NANOSECONDS));
    } catch (TimeoutException e) {
      return Optional.empty();
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  // ---------------------------------------------------------------- the machine

  /** Runs the steps that are due, on the executor. */
  private void kick() {
    try {
      executor.execute(this::drive);
    } catch (RejectedExecutionException e) {
      LOG.log(System.Logger.Level.WARNING, "lifecycle executor rejected a task; running inline");
      drive();
    }
  }

  /**
   * Runs steps until none is due. One thread drives at a time; a thread that finds another driving
   * leaves: the driver re-reads the state (under the lock) after every step, so it sees what the
   * other thread changed.
   */
  private void drive() {
    lock.lock();
    try {
      if (driving) return;
      driving = true;
    } finally {
      lock.unlock();
    }
    while (true) {
      Runnable action;
      lock.lock();
      try {
        action = nextStep();
        if (action == null) {
          driving = false;
          return;
        }
      } catch (RuntimeException | Error e) {
        driving = false;
        throw e;
      } finally {
        lock.unlock();
      }
      try {
        action.run();
      } catch (RuntimeException | Error e) {
        LOG.log(System.Logger.Level.ERROR, "lifecycle step failed", e);
      }
    }
  }

  /**
   * Decides the next step under the lock and marks it taken; returns what to run outside the lock,
   * {@link #CONTINUE} to decide again, or null when waiting for an event.
   */
  private Runnable nextStep() {
    PhaseChange change = pendingChanges.poll();
    if (change != null) return () -> announce(change);
    return switch (phase) {
      case STARTING, RUNNING -> null;
      case DRAINING -> drainingStep();
      case STOPPING -> stoppingStep();
      case TERMINATED -> terminatedStep();
    };
  }

  private Runnable drainingStep() {
    if (force) {
      cancelTimers();
      needCancel = !drained;
      changePhase(Phase.STOPPING, "forced", Map.of());
      return CONTINUE;
    }
    if (!delayScheduled) {
      delayScheduled = true;
      if (drainDelay.isZero()) {
        delayElapsed = true;
      } else {
        delayTimer = scheduler.schedule(() -> onEvent(() -> delayElapsed = true), drainDelay);
      }
    }
    if (!delayElapsed) return null;
    if (!acceptingStopped) {
      acceptingStopped = true;
      return () -> call("stopAccepting", () -> run(drainable::stopAccepting));
    }
    if (!lameDuck) {
      lameDuck = true;
      if (!stopTimeoutInEffect.isZero()) {
        stopTimer =
            scheduler.schedule(() -> onEvent(() -> stopTimedOut = true), stopTimeoutInEffect);
      }
      return () -> {
        call("enterLameDuck", () -> run(drainable::enterLameDuck));
        tracker.drained().thenRun(() -> onEvent(() -> drained = true));
      };
    }
    if (drained) {
      cancelTimers();
      changePhase(Phase.STOPPING, "drained (busy at stop: " + busyAtStop + ")", Map.of());
      return CONTINUE;
    }
    if (stopTimedOut) {
      needCancel = true;
      changePhase(
          Phase.STOPPING,
          "stop timeout " + Durations.format(stopTimeoutInEffect) + " expired",
          Map.of());
      return CONTINUE;
    }
    return null;
  }

  private Runnable stoppingStep() {
    if (!acceptingStopped) {
      acceptingStopped = true;
      return () -> call("stopAccepting", () -> run(drainable::stopAccepting));
    }
    if (needCancel && !cancelled) {
      cancelled = true;
      boolean wait = !force && !killTimeout.isZero();
      if (wait) {
        killTimer = scheduler.schedule(() -> onEvent(() -> killTimedOut = true), killTimeout);
      } else {
        killTimedOut = true;
      }
      return () -> {
        int n = call("cancelInFlight", drainable::cancelInFlight);
        n += call("cancelWork", tracker::cancelWork);
        int total = n;
        withLock(() -> cancelledCount += total);
        // Idle connections need not close by themselves: the kill wait ends when nothing is busy.
        if (wait) tracker.quiesced().thenRun(() -> onEvent(() -> quiesced = true));
      };
    }
    if (!forceClosed) {
      if (needCancel && !(drained || quiesced || killTimedOut || force)) return null;
      forceClosed = true;
      cancelTimers();
      return () -> {
        int n = call("forceClose", drainable::forceClose);
        withLock(() -> forceClosedCount += n);
      };
    }
    if (!released) {
      released = true;
      return () -> call("release", () -> run(drainable::release));
    }
    Map<String, Long> extra = new LinkedHashMap<>();
    extra.put("cancelled", (long) cancelledCount);
    extra.put("forceClosed", (long) forceClosedCount);
    changePhase(
        Phase.TERMINATED,
        "cancelled "
            + cancelledCount
            + ", force-closed "
            + forceClosedCount
            + "; stopped in "
            + Durations.formatApprox(Duration.ofNanos(ticker.read() - stopRequestedAt)),
        extra);
    return CONTINUE;
  }

  private Runnable terminatedStep() {
    if (finished) return null;
    finished = true;
    long now = ticker.read();
    Termination t =
        new Termination(
            reason,
            Duration.ofNanos(now - stopRequestedAt),
            cancelledCount == 0 && forceClosedCount == 0,
            cancelledCount,
            forceClosedCount,
            tracker.counts().work(),
            failures);
    List<Consumer<Termination>> toRun = List.copyOf(hooks);
    hooks.clear();
    return () -> {
      for (Consumer<Termination> h : toRun) runHook(h, t);
      terminated.complete(t);
    };
  }

  /** Records a phase change to be announced in order by the driver. Under the lock. */
  private void changePhase(Phase to, String detail, Map<String, Long> extra) {
    long now = ticker.read();
    Map<String, Long> counts = new LinkedHashMap<>(tracker.counts().toMap());
    counts.put("busy", tracker.busy());
    counts.putAll(extra);
    PhaseChange c =
        new PhaseChange(
            phase,
            to,
            Optional.ofNullable(reason),
            detail,
            Duration.ofNanos(now - phaseSince),
            counts);
    pendingChanges.add(c);
    phase = to;
    phaseSince = now;
  }

  private void announce(PhaseChange c) {
    boolean cut =
        c.to() == Phase.TERMINATED
            && (c.counts().getOrDefault("cancelled", 0L) > 0
                || c.counts().getOrDefault("forceClosed", 0L) > 0);
    // A failed start is thrown to the caller of start(), who reports it (the CLI in one line):
    // logged at DEBUG, or it would be said twice, and racing the caller's own report.
    System.Logger.Level level =
        c.stopReason().orElse(null) == StopReason.START_FAILED
            ? System.Logger.Level.DEBUG
            : cut ? System.Logger.Level.WARNING : System.Logger.Level.INFO;
    LOG.log(
        level, () -> c + "; busy " + c.counts().get("busy") + " (" + countsText(c.counts()) + ")");
    for (LifecycleListener l : listeners) {
      try {
        l.phaseChanged(c);
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "lifecycle listener failed: " + l, e);
      }
    }
  }

  private static String countsText(Map<String, Long> m) {
    return "new "
        + m.get("new")
        + ", active "
        + m.get("active")
        + ", idle "
        + m.get("idle")
        + ", hijacked "
        + m.get("hijacked")
        + ", work "
        + m.get("work");
  }

  private void cancelTimers() {
    if (delayTimer != null) delayTimer.cancel();
    if (stopTimer != null) stopTimer.cancel();
    if (killTimer != null) killTimer.cancel();
    delayTimer = stopTimer = killTimer = null;
  }

  /** Applies {@code change} under the lock, then runs the steps it makes due. */
  private void onEvent(Runnable change) {
    withLock(change);
    kick();
  }

  private void withLock(Runnable r) {
    lock.lock();
    try {
      r.run();
    } finally {
      lock.unlock();
    }
  }

  private static int run(Runnable r) {
    r.run();
    return 0;
  }

  /** Runs one engine step; a failure is logged, recorded, and does not stop the next steps. */
  private int call(String step, IntSupplier s) {
    try {
      return s.getAsInt();
    } catch (RuntimeException | Error e) {
      LOG.log(System.Logger.Level.WARNING, step + " failed; going on with the stop", e);
      withLock(() -> failures.add(e));
      return 0;
    }
  }

  private static void runHook(Consumer<Termination> hook, Termination t) {
    try {
      hook.accept(t);
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "onTerminated hook failed: " + hook, e);
    }
  }

  private static String formatTimeout(Duration d) {
    return d.isZero() ? "none (wait forever)" : Durations.format(d);
  }

  /** Builds a {@link Lifecycle}. Every setter documents its default. */
  public static final class Builder {
    private final Drainable drainable;
    private final ActivityTracker tracker;
    private Executor executor =
        r -> Thread.ofPlatform().name("lull-lifecycle").daemon(false).start(r);
    private Duration stopTimeout = DEFAULT_STOP_TIMEOUT;
    private Duration killTimeout = DEFAULT_KILL_TIMEOUT;
    private Duration drainDelay = DEFAULT_DRAIN_DELAY;
    private final List<LifecycleListener> listeners = new ArrayList<>();

    private Builder(Drainable drainable, ActivityTracker tracker) {
      if (drainable == null) throw new NullPointerException("drainable == null");
      if (tracker == null) throw new NullPointerException("tracker == null");
      this.drainable = drainable;
      this.tracker = tracker;
    }

    /**
     * How long a graceful stop waits for in-flight requests and work, from the moment it stops
     * accepting. Default 20s, so that with the default kill timeout a stop fits in Kubernetes'
     * default 30s grace period and well within systemd's default 90s {@code TimeoutStopSec}. {@link
     * Duration#ZERO} waits forever: a client that never closes its connection (a hijacked stream, a
     * stuck upload) then keeps the process alive until a second signal or SIGKILL.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder stopTimeout(Duration stopTimeout) {
      this.stopTimeout = nonNegative("stopTimeout", stopTimeout);
      return this;
    }

    /**
     * After the stop timeout, how long cancelled requests get to end before their connections are
     * force-closed. Default 5s. {@link Duration#ZERO} force-closes right after cancelling.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder killTimeout(Duration killTimeout) {
      this.killTimeout = nonNegative("killTimeout", killTimeout);
      return this;
    }

    /**
     * How long a stop keeps serving normally after readiness turned false, before it stops
     * accepting: time for load balancers that poll readiness to take the server out. Default 0 (no
     * delay), right for systemd socket activation; behind a balancer use at least its polling
     * interval times its failure threshold.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder drainDelay(Duration drainDelay) {
      this.drainDelay = nonNegative("drainDelay", drainDelay);
      return this;
    }

    /**
     * Where the steps of a stop run. Default: a new non-daemon platform thread named {@code
     * lull-lifecycle} per burst of steps (so a JVM whose main thread has returned still finishes
     * its drain). Tests pass {@code Runnable::run}. Must not be an event loop: engine steps may
     * block.
     */
    public Builder executor(Executor executor) {
      if (executor == null) throw new NullPointerException("executor == null");
      this.executor = executor;
      return this;
    }

    /** Adds a listener from the start, so that it sees every transition. */
    public Builder listener(LifecycleListener listener) {
      if (listener == null) throw new NullPointerException("listener == null");
      listeners.add(listener);
      return this;
    }

    /**
     * Builds the lifecycle and binds the tracker's idle action to it.
     *
     * @throws IllegalStateException if the tracker has an idle action or another lifecycle already
     */
    public Lifecycle build() {
      return new Lifecycle(this);
    }

    private static Duration nonNegative(String name, Duration d) {
      if (d == null) throw new NullPointerException(name + " == null");
      if (d.isNegative()) {
        throw new IllegalArgumentException(name + " < 0: " + Durations.format(d));
      }
      return d;
    }
  }
}
