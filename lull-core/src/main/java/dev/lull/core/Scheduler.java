package dev.lull.core;

import dev.lull.core.internal.SystemScheduler;
import java.time.Duration;

/**
 * Runs a task after a delay. Lull's timers (idle, drain delay, stop and kill timeouts, watchdog)
 * all go through one scheduler, so tests replace it with {@link dev.lull.core.testing.ManualClock}
 * and advance time by hand.
 *
 * <p>Tasks must be quick: they usually set a flag and hand the real work to another thread.
 */
@FunctionalInterface
public interface Scheduler {
  /**
   * Runs {@code task} once after {@code delay}, on a thread of the scheduler's choosing — never
   * inside this call, even for a zero delay (callers may hold a lock while scheduling).
   *
   * @return a handle whose {@link Cancellable#cancel()} keeps the task from running if it has not
   *     started yet
   */
  Cancellable schedule(Runnable task, Duration delay);

  /**
   * The process-wide scheduler: one daemon thread named {@code lull-timer} that sleeps until the
   * next deadline, so a timer costs a queue entry, not a thread. Time is {@link System#nanoTime()},
   * the same as {@link Ticker#system()}. A task that throws is logged and does not stop the thread.
   */
  static Scheduler system() {
    return SystemScheduler.INSTANCE;
  }

  /** A scheduled task that can be cancelled. */
  @FunctionalInterface
  interface Cancellable {
    /** Keeps the task from running if it has not started; does nothing otherwise. */
    void cancel();
  }
}
