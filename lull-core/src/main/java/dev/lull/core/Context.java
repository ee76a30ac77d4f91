package dev.lull.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A cancellation context, as Go's {@code context.Context}: cancelled at most once, with a cause;
 * optionally with a deadline; carrying request-scoped values. A child is cancelled when its parent
 * is, and may have a shorter deadline.
 *
 * <p>Callbacks registered with {@link #onCancel(Runnable)} run exactly once, on the thread that
 * cancels (or on the registering thread if the context is already cancelled), never under a lock of
 * the context. Keep them short; they typically interrupt a thread or close a resource.
 *
 * <p>Handlers reach theirs through {@code request.context()}; Lull cancels it when the client
 * disconnects, when the deadline passes, or when the server's stop timeout expires.
 */
public final class Context {
  private static final Context BACKGROUND =
      new Context(null, Long.MAX_VALUE, Map.of(), Ticker.system(), null);

  private final Context parent;
  private final long deadlineNanos; // Long.MAX_VALUE: none
  private final Map<Key<?>, Object> values;
  private final Ticker ticker;
  private final Scheduler scheduler;
  private final AtomicReference<CancellationCause> cause = new AtomicReference<>();
  private final ReentrantLock lock = new ReentrantLock();
  private List<Runnable> callbacks; // guarded by lock; null once cancelled
  private Scheduler.Cancellable deadlineTimer;
  private Registration parentLink;

  private Context(
      Context parent,
      long deadlineNanos,
      Map<Key<?>, Object> values,
      Ticker ticker,
      Scheduler scheduler) {
    this.parent = parent;
    this.deadlineNanos = deadlineNanos;
    this.values = values;
    this.ticker = ticker;
    this.scheduler = scheduler;
    this.callbacks = new ArrayList<>(2);
  }

  /** The root context: never cancelled, no deadline, no values. */
  public static Context background() {
    return BACKGROUND;
  }

  /**
   * A new cancellable root context whose deadlines use {@code ticker} and {@code scheduler} (tests
   * pass a manual clock).
   */
  public static Context root(Ticker ticker, Scheduler scheduler) {
    return new Context(
        null,
        Long.MAX_VALUE,
        Map.of(),
        Objects.requireNonNull(ticker, "ticker"),
        Objects.requireNonNull(scheduler, "scheduler"));
  }

  /** A cancellable child of this context, with the same deadline and values. */
  public Context child() {
    return link(new Context(this, deadlineNanos, values, ticker, scheduler));
  }

  /**
   * A child whose deadline is {@code timeout} from now, or this context's deadline if that is
   * sooner. When the deadline passes, the child is cancelled with {@link
   * CancellationCause#DEADLINE_EXCEEDED}.
   *
   * @throws IllegalStateException if this context has no scheduler (the background context)
   */
  public Context withTimeout(Duration timeout) {
    if (timeout.isNegative()) throw new IllegalArgumentException("timeout < 0: " + timeout);
    if (scheduler == null) {
      throw new IllegalStateException("the background context has no scheduler; use root()");
    }
    long now = ticker.read();
    long deadline = saturatedAdd(now, timeout.toNanos());
    if (deadline - deadlineNanos > 0 && deadlineNanos != Long.MAX_VALUE) deadline = deadlineNanos;
    Context child = link(new Context(this, deadline, values, ticker, scheduler));
    if (!child.isCancelled()) {
      long delay = Math.max(0, deadline - now);
      Scheduler.Cancellable timer =
          scheduler.schedule(
              () -> child.cancel(CancellationCause.DEADLINE_EXCEEDED), Duration.ofNanos(delay));
      child.lock.lock();
      boolean cancelled;
      try {
        cancelled = child.callbacks == null;
        if (!cancelled) child.deadlineTimer = timer;
      } finally {
        child.lock.unlock();
      }
      if (cancelled) timer.cancel();
    }
    return child;
  }

  /**
   * A new context with this context's values, deadline and clock that this context's cancellation
   * does not reach (as Go's {@code context.WithoutCancel}). Lull derives each request's context
   * from the server's base context this way, so that requests do not contend on the base.
   */
  public Context detached() {
    return new Context(null, deadlineNanos, values, ticker, scheduler);
  }

  /** A child carrying {@code value} under {@code key}, in addition to this context's values. */
  public <T> Context withValue(Key<T> key, T value) {
    Objects.requireNonNull(key, "key");
    Map<Key<?>, Object> copy = new java.util.HashMap<>(values);
    copy.put(key, Objects.requireNonNull(value, "value"));
    return link(new Context(this, deadlineNanos, Map.copyOf(copy), ticker, scheduler));
  }

  private Context link(Context child) {
    if (this == BACKGROUND) return child;
    Registration r = onCancel(() -> child.cancel(cause.get()));
    child.lock.lock();
    try {
      child.parentLink = r;
    } finally {
      child.lock.unlock();
    }
    return child;
  }

  /** The value under {@code key}, looked up here and in the parents. */
  @SuppressWarnings("unchecked")
  public <T> Optional<T> value(Key<T> key) {
    return Optional.ofNullable((T) values.get(key));
  }

  public boolean isCancelled() {
    return cause.get() != null;
  }

  /** Why this context was cancelled; empty while it is not. */
  public Optional<CancellationCause> cause() {
    return Optional.ofNullable(cause.get());
  }

  /** Time left until the deadline; empty when there is none. Negative once it passed. */
  public Optional<Duration> remaining() {
    if (deadlineNanos == Long.MAX_VALUE) return Optional.empty();
    return Optional.of(Duration.ofNanos(deadlineNanos - ticker.read()));
  }

  /**
   * Returns if the context is not cancelled.
   *
   * @throws CancelledException if it is, with the cause
   */
  public void checkpoint() {
    CancellationCause c = cause.get();
    if (c != null) throw new CancelledException(c);
  }

  /**
   * Runs {@code callback} once when this context is cancelled; at once, on this thread, if it
   * already is.
   *
   * @return a registration whose {@link Registration#remove()} keeps the callback from running
   */
  public Registration onCancel(Runnable callback) {
    Objects.requireNonNull(callback, "callback");
    lock.lock();
    try {
      if (callbacks != null) {
        callbacks.add(callback);
        return () -> {
          lock.lock();
          try {
            if (callbacks != null) callbacks.remove(callback);
          } finally {
            lock.unlock();
          }
        };
      }
    } finally {
      lock.unlock();
    }
    callback.run();
    return () -> {};
  }

  /**
   * Cancels this context and its children with {@code why}, unless it is already cancelled.
   *
   * @return whether this call cancelled it
   */
  public boolean cancel(CancellationCause why) {
    Objects.requireNonNull(why, "why");
    if (this == BACKGROUND)
      throw new UnsupportedOperationException("background is never cancelled");
    if (!cause.compareAndSet(null, why)) return false;
    List<Runnable> toRun;
    Scheduler.Cancellable timer;
    Registration link;
    lock.lock();
    try {
      toRun = callbacks;
      callbacks = null;
      timer = deadlineTimer;
      deadlineTimer = null;
      link = parentLink;
      parentLink = null;
    } finally {
      lock.unlock();
    }
    if (timer != null) timer.cancel();
    if (link != null) link.remove();
    RuntimeException first = null;
    for (Runnable r : toRun) {
      try {
        r.run();
      } catch (RuntimeException e) {
        if (first == null) first = e;
        else first.addSuppressed(e);
      }
    }
    if (first != null) throw first;
    return true;
  }

  /**
   * Releases this context without cancelling it: its deadline timer stops, its callbacks are
   * dropped and its parent forgets it. Lull calls this when a request completes.
   */
  public void release() {
    Scheduler.Cancellable timer;
    Registration link;
    lock.lock();
    try {
      timer = deadlineTimer;
      deadlineTimer = null;
      link = parentLink;
      parentLink = null;
      if (callbacks != null) callbacks.clear();
    } finally {
      lock.unlock();
    }
    if (timer != null) timer.cancel();
    if (link != null) link.remove();
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
  }

  /** Removes a callback registered with {@link #onCancel(Runnable)}. */
  @FunctionalInterface
  public interface Registration {
    /** Keeps the callback from running if it has not run yet. */
    void remove();
  }

  /**
   * A typed key for context values; compared by identity.
   *
   * @param <T> the type of the value
   */
  public static final class Key<T> {
    private final String name;

    private Key(String name) {
      this.name = name;
    }

    public static <T> Key<T> of(String name) {
      return new Key<>(Objects.requireNonNull(name, "name"));
    }

    @Override
    public String toString() {
      return name;
    }
  }
}
