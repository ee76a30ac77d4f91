package dev.lull.server;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Waits for a condition no event announces (a server-internal counter); polls every 5 ms. */
public final class Awaits {
  private Awaits() {}

  /** Returns once {@code condition} holds; fails after {@code deadline}. */
  public static void until(Duration deadline, String what, BooleanSupplier condition) {
    long end = System.nanoTime() + deadline.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - end > 0)
        throw new AssertionError("not within " + deadline + ": " + what);
      LockSupport.parkNanos(5_000_000);
    }
  }
}
