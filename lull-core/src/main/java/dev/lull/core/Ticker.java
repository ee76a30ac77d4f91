package dev.lull.core;

/**
 * A source of monotonic time in nanoseconds. {@link #system()} reads {@link System#nanoTime()};
 * tests pass a fake whose time they advance by hand.
 */
@FunctionalInterface
public interface Ticker {
  /** Nanoseconds since an arbitrary fixed origin; only differences are meaningful. */
  long read();

  /** The system's monotonic clock. */
  static Ticker system() {
    return System::nanoTime;
  }
}
