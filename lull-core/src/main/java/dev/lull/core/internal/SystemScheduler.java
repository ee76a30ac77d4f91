package dev.lull.core.internal;

import dev.lull.core.Scheduler;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * {@link Scheduler#system()}: one daemon thread, cancelled tasks removed from the queue at once.
 */
public final class SystemScheduler implements Scheduler {
  private static final System.Logger LOG = System.getLogger("dev.lull.core");

  public static final SystemScheduler INSTANCE = new SystemScheduler();

  private final ScheduledThreadPoolExecutor executor;

  private SystemScheduler() {
    executor =
        new ScheduledThreadPoolExecutor(
            1, Thread.ofPlatform().name("lull-timer").daemon(true).factory());
    executor.setRemoveOnCancelPolicy(true);
    executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
  }

  @Override
  public Cancellable schedule(Runnable task, Duration delay) {
    if (task == null) throw new NullPointerException("task == null");
    long nanos = saturatedNanos(delay);
    ScheduledFuture<?> f = executor.schedule(() -> runLogged(task), nanos, TimeUnit.NANOSECONDS);
    return () -> f.cancel(false);
  }

  private static void runLogged(Runnable task) {
    try {
      task.run();
    } catch (Throwable t) {
      LOG.log(System.Logger.Level.WARNING, "timer task failed: " + task, t);
    }
  }

  /** {@code delay} in nanoseconds, negative as zero, beyond about 292 years as that. */
  static long saturatedNanos(Duration delay) {
    if (delay.isNegative()) return 0;
    try {
      return delay.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }
}
