package dev.lull.core.testing;

import dev.lull.core.Scheduler;
import dev.lull.core.Ticker;
import java.time.Duration;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link Ticker} and {@link Scheduler} whose time moves only when a test calls {@link
 * #advance(Duration)}. <strong>For tests only</strong>: it lives in the main tree so that the tests
 * of every module (core, server, cli) can share it.
 *
 * <p>Time starts at {@code 0} nanoseconds. {@link #advance(Duration)} runs the tasks that fall due
 * on the caller's thread, one at a time, in deadline order (tasks with the same deadline in the
 * order they were scheduled), with the clock set to each task's deadline while it runs; tasks that
 * a running task schedules within the window run in the same call. A task scheduled with a zero
 * delay runs at the next {@code advance}, which may be {@link #runDue()}.
 *
 * <p>Thread-safe: other threads may read the time and schedule or cancel tasks while a test
 * advances it.
 *
 * <pre>{@code
 * ManualClock clock = new ManualClock();
 * ActivityTracker tracker = ActivityTracker.builder()
 *     .ticker(clock).scheduler(clock).idleTimeout(Duration.ofSeconds(30))
 *     .onIdle(() -> fired.add(clock.read())).build();
 * tracker.start();
 * clock.advance(Duration.ofSeconds(30)); // the idle action runs here, on this thread
 * }</pre>
 */
public final class ManualClock implements Ticker, Scheduler {
  private final ReentrantLock lock = new ReentrantLock();
  private final PriorityQueue<Task> queue = new PriorityQueue<>();
  private long now;
  private long seq;

  /** A clock at time zero with nothing scheduled. */
  public ManualClock() {}

  @Override
  public long read() {
    lock.lock();
    try {
      return now;
    } finally {
      lock.unlock();
    }
  }

  /** The time as a {@link Duration} since the clock was made. */
  public Duration elapsed() {
    return Duration.ofNanos(read());
  }

  @Override
  public Cancellable schedule(Runnable task, Duration delay) {
    if (task == null) throw new NullPointerException("task == null");
    if (delay == null) throw new NullPointerException("delay == null");
    lock.lock();
    try {
      long d = delay.isNegative() ? 0 : saturatedNanos(delay);
      long deadline = now + d < now ? Long.MAX_VALUE : now + d;
      Task t = new Task(task, deadline, seq++);
      queue.add(t);
      return () -> {
        lock.lock();
        try {
          queue.remove(t);
        } finally {
          lock.unlock();
        }
      };
    } finally {
      lock.unlock();
    }
  }

  /**
   * Moves time forward by {@code by}, running every task that falls due, in deadline order, on this
   * thread.
   *
   * @throws IllegalArgumentException if {@code by} is negative
   */
  public void advance(Duration by) {
    if (by.isNegative()) throw new IllegalArgumentException("advance by < 0: " + by);
    long target;
    lock.lock();
    try {
      long d = saturatedNanos(by);
      target = now + d < now ? Long.MAX_VALUE : now + d;
    } finally {
      lock.unlock();
    }
    while (true) {
      Task due;
      lock.lock();
      try {
        Task head = queue.peek();
        if (head == null || head.deadline > target) {
          now = Math.max(now, target);
          return;
        }
        due = queue.poll();
        now = Math.max(now, due.deadline);
      } finally {
        lock.unlock();
      }
      due.task.run();
    }
  }

  /** Runs the tasks already due (those scheduled with a zero delay) without moving time. */
  public void runDue() {
    advance(Duration.ZERO);
  }

  /** How many tasks are scheduled and neither run nor cancelled. */
  public int pending() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /** How long until the next scheduled task is due, if any. */
  public Optional<Duration> nextDelay() {
    lock.lock();
    try {
      Task head = queue.peek();
      return head == null ? Optional.empty() : Optional.of(Duration.ofNanos(head.deadline - now));
    } finally {
      lock.unlock();
    }
  }

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  private record Task(Runnable task, long deadline, long seq) implements Comparable<Task> {
    @Override
    public int compareTo(Task o) {
      int c = Long.compare(deadline, o.deadline);
      return c != 0 ? c : Long.compare(seq, o.seq);
    }
  }
}
