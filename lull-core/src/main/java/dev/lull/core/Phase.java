package dev.lull.core;

/**
 * The phases of a {@link Lifecycle}, in the only order they happen. Every constant says which
 * phases it moves to; {@link Lifecycle} documents each step.
 */
public enum Phase {
  /**
   * Made, not serving yet. Moves to {@link #RUNNING} when {@link Lifecycle#start()} has started the
   * engine; to {@link #DRAINING} if a stop was requested while it started (what it accepted
   * meanwhile is drained, not cut); to {@link #STOPPING} if stopped before {@code start()} was
   * called, or if starting failed.
   */
  STARTING,
  /**
   * Serving, and ready. Moves to {@link #DRAINING} when a stop is requested (signal, idle timer or
   * API).
   */
  RUNNING,
  /**
   * The graceful part of a stop; nothing is cut. Readiness is off from its first instant; the
   * server keeps serving normally for {@code drainDelay}, then stops accepting, enters lame duck
   * ({@code Connection: close} on every response, idle connections closed) and waits for every
   * connection to close and all work to end, up to {@code stopTimeout}. Moves to {@link #STOPPING}
   * when drained, when the stop timeout expires, or at once on a forced stop.
   */
  DRAINING,
  /**
   * The forceful part, when needed: cancels the requests and work that remain, waits up to {@code
   * killTimeout} for them, force-closes every connection left, releases the engine. Moves to {@link
   * #TERMINATED}.
   */
  STOPPING,
  /** Stopped; terminal. The process may exit. */
  TERMINATED
}
