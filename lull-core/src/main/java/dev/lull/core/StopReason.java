package dev.lull.core;

import java.util.Locale;

/** Why a {@link Lifecycle} stopped. */
public enum StopReason {
  /** SIGTERM or SIGINT (see {@link Signals}); exit code 0. */
  SIGNAL,
  /** The server stayed idle for its whole {@code idleTimeout}; exit code 0. */
  IDLE,
  /** A program called {@link Lifecycle#stop(StopReason)}; exit code 0. */
  API,
  /** {@link Lifecycle#start()} failed (a listener could not be bound, ...); exit code 1. */
  START_FAILED;

  /**
   * The reason in lower case with dashes, as logs write it: {@code signal}, {@code start-failed}.
   */
  public String label() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
