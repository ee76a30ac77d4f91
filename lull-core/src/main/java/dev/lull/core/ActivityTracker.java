package dev.lull.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Knows whether the server is busy: the state of every connection and the tracked work that runs,
 * and from that, when the server has been idle for {@code idleTimeout}.
 *
 * <h2>Busy and idle</h2>
 *
 * The server is <em>busy</em> while any connection is {@link ConnectionState#NEW}, {@link
 * ConnectionState#ACTIVE} or {@link ConnectionState#HIJACKED}, or any {@link Work} runs; {@link
 * ConnectionState#IDLE} keep-alive connections do not keep it busy. When {@link #busy()} drops to
 * zero the idle countdown starts; anything becoming busy cancels it; becoming idle again restarts
 * it from zero. After {@code idleTimeout} without a break the idle action given to the builder
 * runs, <strong>once</strong> in the tracker's life (it usually stops the server). The countdown
 * runs only between {@link #start()} and {@link #close()}.
 *
 * <h2>The idle race, and its rule</h2>
 *
 * A connection may be accepted at the very instant the idle timer fires. The rule: the timer
 * re-checks, under the tracker's idle lock and against a generation counter bumped by every change
 * between busy and idle, that nothing is busy and nothing changed since it was armed. If a
 * connection was counted first, the timer does nothing. If the timer checked first, the idle action
 * runs; the connection accepted just after is then <em>served</em> by the graceful stop that the
 * action starts (the stop waits for every counted connection), never cut. This is why the engine
 * must report {@code NEW} from the moment of accept, before reading a byte.
 *
 * <h2>Threads and cost</h2>
 *
 * Every method is thread-safe. {@link #connectionStateChanged} is on the request path: it allocates
 * nothing, updates striped counters ({@link LongAdder}) and one atomic busy count, and takes a lock
 * only when the busy count crosses zero (and only if an idle timeout is set).
 *
 * <h2>Draining</h2>
 *
 * {@link #drained()} completes when no connection is open (in any state) and no work runs; a
 * graceful stop waits for it instead of polling.
 */
public final class ActivityTracker implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.lull.core");
  private static final ConnectionListener[] NO_CONNECTION_LISTENERS = {};
  private static final ActivityListener[] NO_ACTIVITY_LISTENERS = {};

  private final Ticker ticker;
  private final Scheduler scheduler;
  private final Duration idleTimeout; // null when off
  private final long idleTimeoutNanos; // 0 when off

  /** Current connections per state; the CLOSED slot counts closes since the tracker was made. */
  private final LongAdder[] perState = new LongAdder[ConnectionState.values().length];

  private final LongAdder accepted = new LongAdder();
  private final AtomicLong busy = new AtomicLong();
  private final AtomicLong open = new AtomicLong();
  private final AtomicLong workCount = new AtomicLong();
  private final AtomicLong workIds = new AtomicLong();
  private final ConcurrentHashMap<Long, RunningWork> work = new ConcurrentHashMap<>();

  private final Object listenersLock = new Object();
  private volatile ConnectionListener[] connectionListeners = NO_CONNECTION_LISTENERS;
  private volatile ActivityListener[] activityListeners = NO_ACTIVITY_LISTENERS;

  /** Guards the idle timer fields below. */
  private final ReentrantLock idleLock = new ReentrantLock();

  private Runnable onIdle;
  private boolean started;
  private boolean closed;
  private boolean fired;
  private long generation;
  private Scheduler.Cancellable timer;
  private long deadline; // valid while timer != null

  /** Guards drainWaiters and quiesceWaiters. */
  private final ReentrantLock drainLock = new ReentrantLock();

  private final List<CompletableFuture<Void>> drainWaiters = new ArrayList<>();
  private volatile boolean drainWaited;
  private final List<CompletableFuture<Void>> quiesceWaiters = new ArrayList<>();
  private volatile boolean quiesceWaited;

  private ActivityTracker(Builder b) {
    this.ticker = b.ticker;
    this.scheduler = b.scheduler;
    this.idleTimeout = b.idleTimeout;
    this.idleTimeoutNanos = b.idleTimeout == null ? 0 : saturatedNanos(b.idleTimeout);
    this.onIdle = b.onIdle;
    for (int i = 0; i < perState.length; i++) perState[i] = new LongAdder();
  }

  /** A builder with the system clock, no idle timeout and no idle action. */
  public static Builder builder() {
    return new Builder();
  }

  // ---------------------------------------------------------------- connections

  /**
   * Records that connection {@code connectionId} moved from {@code from} to {@code to}, then tells
   * the {@link ConnectionListener}s on this thread.
   *
   * <p>The engine reports every change of every connection exactly once and in order, the first
   * with {@code from == null} and {@code to == NEW} at the moment of accept (so an idle exit cannot
   * race it), the last with {@code to == CLOSED}. Nothing is checked: a wrong sequence gives wrong
   * counts. A change to the same state is ignored.
   *
   * <p>Called on event-loop threads; cheap, see the class comment.
   *
   * @param from the state reported last for this connection, or {@code null} if it has just been
   *     accepted
   */
  public void connectionStateChanged(long connectionId, ConnectionState from, ConnectionState to) {
    if (to == null) throw new NullPointerException("to == null");
    if (from == to) return;
    if (from == null) {
      accepted.increment();
      open.incrementAndGet();
    } else {
      perState[from.ordinal()].decrement();
    }
    perState[to.ordinal()].increment();
    boolean wasBusy = from != null && from.isBusy();
    boolean isBusy = to.isBusy();
    if (isBusy && !wasBusy) {
      incrementBusy();
    } else if (wasBusy && !isBusy) {
      decrementBusy();
    }
    if (to == ConnectionState.CLOSED) {
      open.decrementAndGet();
      if (drainWaited) checkDrained();
    }
    ConnectionListener[] ls = connectionListeners;
    for (int i = 0; i < ls.length; i++) {
      try {
        ls[i].stateChanged(connectionId, from, to);
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "connection listener failed: " + ls[i], e);
      }
    }
  }

  /**
   * Adds {@code listener}, called after those added before it. See {@link ConnectionListener} for
   * its thread and its duty to be quick.
   */
  public void addConnectionListener(ConnectionListener listener) {
    if (listener == null) throw new NullPointerException("listener == null");
    synchronized (listenersLock) {
      ConnectionListener[] ls = Arrays.copyOf(connectionListeners, connectionListeners.length + 1);
      ls[ls.length - 1] = listener;
      connectionListeners = ls;
    }
  }

  /** Adds {@code listener}, called after those added before it. */
  public void addActivityListener(ActivityListener listener) {
    if (listener == null) throw new NullPointerException("listener == null");
    synchronized (listenersLock) {
      ActivityListener[] ls = Arrays.copyOf(activityListeners, activityListeners.length + 1);
      ls[ls.length - 1] = listener;
      activityListeners = ls;
    }
  }

  // ---------------------------------------------------------------- work

  /**
   * Begins tracked work: the server is busy until the returned handle is closed.
   *
   * @param kind what sort of work, e.g. {@code job}
   * @param description what it does, for a status page
   */
  public Work begin(String kind, String description) {
    return begin(kind, description, null);
  }

  /**
   * Begins tracked work as {@link #begin(String, String)}, with an action that {@link
   * #cancelWork()} runs once if the server's stop timeout expires while the work still runs. The
   * action must not block; it should make the work end soon (interrupt its thread, set a flag).
   *
   * @param onCancel may be {@code null}
   */
  public Work begin(String kind, String description, Runnable onCancel) {
    if (kind == null) throw new NullPointerException("kind == null");
    if (description == null) throw new NullPointerException("description == null");
    RunningWork w =
        new RunningWork(workIds.incrementAndGet(), kind, description, ticker.read(), onCancel);
    work.put(w.id, w);
    workCount.incrementAndGet();
    incrementBusy();
    ActivityListener[] ls = activityListeners;
    for (ActivityListener l : ls) {
      try {
        l.workStarted(w);
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "activity listener failed: " + l, e);
      }
    }
    return w;
  }

  /** The work running now, oldest first. */
  public List<Work> work() {
    List<Work> list = new ArrayList<>(work.values());
    list.sort(Comparator.comparingLong(Work::id));
    return List.copyOf(list);
  }

  /**
   * Asks every running work to stop: marks it {@linkplain Work#isCancelled() cancelled} and runs
   * its cancel action, once, on this thread. Does not wait for the work to end.
   *
   * @return how many pieces of work were asked to stop by this call
   */
  public int cancelWork() {
    int n = 0;
    for (RunningWork w : work.values()) {
      if (w.cancelled.compareAndSet(false, true)) {
        n++;
        if (w.onCancel != null) {
          try {
            w.onCancel.run();
          } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cancel action of " + w + " failed", e);
          }
        }
      }
    }
    return n;
  }

  // ---------------------------------------------------------------- reading

  /**
   * What keeps the server from going idle now: connections in NEW, ACTIVE or HIJACKED plus running
   * work. Exact (one atomic counter).
   */
  public long busy() {
    return busy.get();
  }

  /** Whether no connection is open, in any state, and no work runs. */
  public boolean isDrained() {
    return open.get() == 0 && workCount.get() == 0;
  }

  /** The counts per state and the running work; see {@link ActivityCounts} for its precision. */
  public ActivityCounts counts() {
    return new ActivityCounts(
        count(ConnectionState.NEW),
        count(ConnectionState.ACTIVE),
        count(ConnectionState.IDLE),
        count(ConnectionState.HIJACKED),
        Math.max(0, workCount.get()),
        accepted.sum(),
        count(ConnectionState.CLOSED));
  }

  private long count(ConnectionState s) {
    return Math.max(0, perState[s.ordinal()].sum());
  }

  /**
   * A future completed once no connection is open and no work runs — at once if that is so now. It
   * completes on the thread that closed the last connection or work (an event loop, often):
   * dependent actions must be quick or hand over to another thread. Each call returns a new future.
   */
  public CompletableFuture<Void> drained() {
    CompletableFuture<Void> f = new CompletableFuture<>();
    drainLock.lock();
    try {
      drainWaiters.add(f);
      drainWaited = true;
    } finally {
      drainLock.unlock();
    }
    checkDrained();
    return f;
  }

  private void checkDrained() {
    if (!isDrained()) return;
    List<CompletableFuture<Void>> ready;
    drainLock.lock();
    try {
      if (drainWaiters.isEmpty()) return;
      ready = new ArrayList<>(drainWaiters);
      drainWaiters.clear();
      drainWaited = false;
    } finally {
      drainLock.unlock();
    }
    for (CompletableFuture<Void> f : ready) f.complete(null);
  }

  /**
   * A future completed once nothing is busy ({@link #busy()} is zero: idle keep-alive connections
   * may remain) — at once if that is so now. Completes on the thread that ended the last busy
   * connection or work; see {@link #drained()} for what that implies.
   */
  public CompletableFuture<Void> quiesced() {
    CompletableFuture<Void> f = new CompletableFuture<>();
    drainLock.lock();
    try {
      quiesceWaiters.add(f);
      quiesceWaited = true;
    } finally {
      drainLock.unlock();
    }
    checkQuiesced();
    return f;
  }

  private void checkQuiesced() {
    if (busy.get() != 0) return;
    List<CompletableFuture<Void>> ready;
    drainLock.lock();
    try {
      if (quiesceWaiters.isEmpty()) return;
      ready = new ArrayList<>(quiesceWaiters);
      quiesceWaiters.clear();
      quiesceWaited = false;
    } finally {
      drainLock.unlock();
    }
    for (CompletableFuture<Void> f : ready) f.complete(null);
  }

  /** The idle timeout, if one is set. */
  public Optional<Duration> idleTimeout() {
    return Optional.ofNullable(idleTimeout);
  }

  /** The time source of this tracker; the lifecycle built on it uses the same. */
  public Ticker ticker() {
    return ticker;
  }

  /** The scheduler of this tracker; the lifecycle built on it uses the same. */
  public Scheduler scheduler() {
    return scheduler;
  }

  /**
   * When the idle timer will fire, in {@link Ticker} time, if it is counting down now.
   *
   * @see #untilIdle(long)
   */
  public OptionalLong idleDeadline() {
    idleLock.lock();
    try {
      return timer == null ? OptionalLong.empty() : OptionalLong.of(deadline);
    } finally {
      idleLock.unlock();
    }
  }

  /**
   * How long from {@code now} until the idle timer fires, if it is counting down: a pure function
   * of {@code now} and the current deadline, for a status page ("idle in 12s"). Zero once the
   * deadline has passed.
   *
   * @param now a reading of this tracker's {@link #ticker()}
   */
  public Optional<Duration> untilIdle(long now) {
    OptionalLong d = idleDeadline();
    if (d.isEmpty()) return Optional.empty();
    return Optional.of(Duration.ofNanos(Math.max(0, d.getAsLong() - now)));
  }

  // ---------------------------------------------------------------- idle timer

  /**
   * Starts watching for idleness: if nothing is busy, the countdown starts now. Does nothing
   * without an idle timeout, or when already started.
   */
  public void start() {
    idleLock.lock();
    try {
      if (started) return;
      started = true;
    } finally {
      idleLock.unlock();
    }
    reconcile();
  }

  /**
   * Stops the idle timer for good; the counts and {@link #drained()} keep working (a graceful stop
   * needs them). Idempotent.
   */
  @Override
  public void close() {
    boolean disarmed;
    idleLock.lock();
    try {
      closed = true;
      generation++;
      disarmed = cancelTimer();
    } finally {
      idleLock.unlock();
    }
    if (disarmed) notifyIdle(Event.DISARMED);
  }

  /** Sets the idle action once; the lifecycle uses this to bind itself. */
  void bindIdleAction(Runnable action) {
    idleLock.lock();
    try {
      if (onIdle != null) throw new IllegalStateException("the tracker already has an idle action");
      onIdle = action;
    } finally {
      idleLock.unlock();
    }
  }

  private void incrementBusy() {
    if (busy.getAndIncrement() == 0) reconcile();
  }

  private void decrementBusy() {
    long n = busy.decrementAndGet();
    if (n == 0) {
      reconcile();
      if (quiesceWaited) checkQuiesced();
    } else if (n < 0) {
      LOG.log(System.Logger.Level.ERROR, "busy count below zero: a state change was misreported");
    }
  }

  private enum Event {
    ARMED,
    DISARMED,
    FIRED
  }

  /**
   * Makes the timer match the busy count after it crossed zero: armed from now if nothing is busy,
   * cancelled otherwise. Each crossing is followed by a reconciliation, and the last one (in lock
   * order) reads the final count, so concurrent crossings cannot leave a wrong timer behind.
   */
  private void reconcile() {
    if (idleTimeoutNanos == 0) return;
    Event event = null;
    idleLock.lock();
    try {
      if (!started || closed || fired) return;
      generation++;
      boolean hadTimer = cancelTimer();
      if (busy.get() == 0) {
        long gen = generation;
        deadline = ticker.read() + idleTimeoutNanos;
        timer = scheduler.schedule(() -> fire(gen), idleTimeout);
        event = Event.ARMED;
      } else if (hadTimer) {
        event = Event.DISARMED;
      }
    } finally {
      idleLock.unlock();
    }
    if (event != null) notifyIdle(event);
  }

  private boolean cancelTimer() {
    if (timer == null) return false;
    timer.cancel();
    timer = null;
    return true;
  }

  private void fire(long gen) {
    Runnable action;
    idleLock.lock();
    try {
      // The rule of the idle race: fire only if nothing became busy since this timer was armed.
      if (gen != generation || busy.get() != 0 || fired || closed) return;
      fired = true;
      timer = null;
      action = onIdle;
    } finally {
      idleLock.unlock();
    }
    LOG.log(
        System.Logger.Level.DEBUG,
        () -> "idle for " + Durations.format(idleTimeout) + ": running the idle action");
    notifyIdle(Event.FIRED);
    if (action != null) {
      try {
        action.run();
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.ERROR, "idle action failed", e);
      }
    }
  }

  private void notifyIdle(Event event) {
    for (ActivityListener l : activityListeners) {
      try {
        switch (event) {
          case ARMED -> l.idleTimerArmed(idleTimeout);
          case DISARMED -> l.idleTimerDisarmed();
          case FIRED -> l.idleTimerFired();
        }
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "activity listener failed: " + l, e);
      }
    }
  }

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  private final class RunningWork implements Work {
    final long id;
    final String kind;
    final String description;
    final long startedAt;
    final Runnable onCancel;
    final AtomicBoolean cancelled = new AtomicBoolean();
    final AtomicBoolean ended = new AtomicBoolean();

    RunningWork(long id, String kind, String description, long startedAt, Runnable onCancel) {
      this.id = id;
      this.kind = kind;
      this.description = description;
      this.startedAt = startedAt;
      this.onCancel = onCancel;
    }

    @Override
    public long id() {
      return id;
    }

    @Override
    public String kind() {
      return kind;
    }

    @Override
    public String description() {
      return description;
    }

    @Override
    public long startedAt() {
      return startedAt;
    }

    @Override
    public boolean isCancelled() {
      return cancelled.get();
    }

    @Override
    public void close() {
      if (!ended.compareAndSet(false, true)) return;
      Duration took = Duration.ofNanos(ticker.read() - startedAt);
      work.remove(id);
      workCount.decrementAndGet();
      decrementBusy();
      if (drainWaited) checkDrained();
      for (ActivityListener l : activityListeners) {
        try {
          l.workEnded(this, took);
        } catch (RuntimeException e) {
          LOG.log(System.Logger.Level.WARNING, "activity listener failed: " + l, e);
        }
      }
    }

    @Override
    public String toString() {
      return kind + " #" + id + " (" + description + ")";
    }
  }

  /** Builds an {@link ActivityTracker}. */
  public static final class Builder {
    private Ticker ticker = Ticker.system();
    private Scheduler scheduler = Scheduler.system();
    private Duration idleTimeout;
    private Runnable onIdle;

    private Builder() {}

    /** The time source. Default {@link Ticker#system()}. */
    public Builder ticker(Ticker ticker) {
      if (ticker == null) throw new NullPointerException("ticker == null");
      this.ticker = ticker;
      return this;
    }

    /** Where the idle timer is scheduled. Default {@link Scheduler#system()}. */
    public Builder scheduler(Scheduler scheduler) {
      if (scheduler == null) throw new NullPointerException("scheduler == null");
      this.scheduler = scheduler;
      return this;
    }

    /**
     * How long the server must stay idle before the idle action runs. Default: off. {@code null} or
     * {@link Duration#ZERO} turn it off.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder idleTimeout(Duration idleTimeout) {
      if (idleTimeout != null && idleTimeout.isNegative()) {
        throw new IllegalArgumentException("idleTimeout < 0: " + Durations.format(idleTimeout));
      }
      this.idleTimeout = idleTimeout == null || idleTimeout.isZero() ? null : idleTimeout;
      return this;
    }

    /**
     * What runs, once, when the idle timeout expires: on the scheduler's thread, so it must not
     * block (a {@link Lifecycle} binds its non-blocking {@code stop(IDLE)} here itself). Default:
     * nothing.
     */
    public Builder onIdle(Runnable onIdle) {
      this.onIdle = onIdle;
      return this;
    }

    public ActivityTracker build() {
      return new ActivityTracker(this);
    }
  }
}
