package dev.lull.core;

/**
 * Observes the phases of a {@link Lifecycle}: the serve / stop / kill events with their durations
 * and counts that a metrics client wants (facebookgo/httpdown's {@code Stats}), or the hook that
 * tells systemd {@code STOPPING=1}.
 *
 * <p>Called on the lifecycle's executor thread, never on an event loop, outside the lifecycle's
 * lock, once per transition, in order, and in the order the listeners were added. It may do small
 * blocking work (write to a socket, a log) but delays the stop while it runs. An exception it
 * throws is logged and ignored.
 */
@FunctionalInterface
public interface LifecycleListener {
  void phaseChanged(PhaseChange change);
}
