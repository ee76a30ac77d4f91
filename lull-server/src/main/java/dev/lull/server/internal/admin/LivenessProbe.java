package dev.lull.server.internal.admin;

import java.util.concurrent.CompletableFuture;

/**
 * Asks the server's event loops whether they still run tasks: a stuck event loop (a handler that
 * blocked it, a livelock) must fail {@code /livez} and stop the systemd watchdog pings, so that the
 * service manager restarts the process.
 */
@FunctionalInterface
public interface LivenessProbe {
  /**
   * Submits a no-op task to every event loop and returns a future completed once each of them has
   * run it; completed exceptionally if an event loop refused the task (it is shutting down). Never
   * blocks; the caller decides how long to wait.
   */
  CompletableFuture<Void> probe();

  /** A probe that always answers at once: for a server without event loops to watch. */
  static LivenessProbe alwaysAlive() {
    return () -> CompletableFuture.completedFuture(null);
  }
}
