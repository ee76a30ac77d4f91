package dev.lull.core;

/**
 * Observes every connection state change reported to an {@link ActivityTracker}, as Go's {@code
 * http.Server.ConnState} does.
 *
 * <p>Called synchronously on the thread that reports the change — for the server, the connection's
 * event loop — after the tracker's counts include it, outside any lock, in the order the listeners
 * were added. <strong>It must be quick and must not block</strong>: it sits on the request path,
 * and a slow listener delays every connection of that event loop. Hand anything slow to another
 * thread. An exception it throws is logged and does not affect the connection or the other
 * listeners.
 *
 * <p>Changes of one connection arrive in order; changes of different connections may interleave.
 */
@FunctionalInterface
public interface ConnectionListener {
  /**
   * Connection {@code connectionId} moved from {@code from} to {@code to}.
   *
   * @param connectionId unique among the connections of one server for its lifetime
   * @param from the previous state, or {@code null} when the connection has just been accepted
   * @param to the new state; {@link ConnectionState#CLOSED} is the last one a connection reports
   */
  void stateChanged(long connectionId, ConnectionState from, ConnectionState to);
}
