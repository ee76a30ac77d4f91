package dev.lull.core;

import java.time.Duration;

/**
 * Runs a task after a delay. Lull's timers (idle, stop and kill timeouts, watchdog) all go through
 * one scheduler, so tests replace it with a manual one and advance time by hand.
 */
@FunctionalInterface
public interface Scheduler {
  /**
   * Runs {@code task} once after {@code delay}, on a thread of the scheduler's choosing.
   *
   * @return a handle whose {@link Cancellable#cancel()} keeps the task from running if it has not
   *     started yet
   */
  Cancellable schedule(Runnable task, Duration delay);

  /** A scheduled task that can be cancelled. */
  @FunctionalInterface
  interface Cancellable {
    /** Keeps the task from running if it has not started; does nothing otherwise. */
    void cancel();
  }
}
