package dev.lull.jobs;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Waits for a condition no event announces (the state of a child process); polls every 10 ms. */
final class Awaits {
  private Awaits() {}

  static void until(Duration deadline, String what, BooleanSupplier condition) {
    long end = System.nanoTime() + deadline.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - end > 0) {
        throw new AssertionError("not within " + deadline + ": " + what);
      }
      LockSupport.parkNanos(10_000_000);
    }
  }
}
