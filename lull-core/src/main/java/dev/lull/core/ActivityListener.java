package dev.lull.core;

import java.time.Duration;

/**
 * Observes tracked work and the idle timer of an {@link ActivityTracker}: the events a metrics
 * exporter or a status page wants besides connection states (which go to {@link
 * ConnectionListener}).
 *
 * <p>Each method is called on the thread that caused the event (the one that began or closed the
 * work, the scheduler's thread for the timer firing, an event loop when a connection's change arms
 * or disarms the timer), outside the tracker's locks, in the order the listeners were added.
 * Methods must be quick and must not block. Events caused on different threads at the same time may
 * be reported out of order. An exception a method throws is logged and otherwise ignored.
 */
public interface ActivityListener {
  /** {@code work} has begun: the server is busy until it closes. */
  default void workStarted(Work work) {}

  /**
   * {@code work} has ended after {@code took}; {@link Work#isCancelled()} says if it was asked to.
   */
  default void workEnded(Work work, Duration took) {}

  /**
   * Nothing is busy: the idle countdown (re)starts and fires {@code timeout} from now unless
   * something becomes busy first.
   */
  default void idleTimerArmed(Duration timeout) {}

  /** Something became busy: the idle countdown is cancelled. */
  default void idleTimerDisarmed() {}

  /** The server stayed idle for the whole idle timeout; the idle action runs next. */
  default void idleTimerFired() {}
}
