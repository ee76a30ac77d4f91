package dev.lull.server;

import java.util.function.BooleanSupplier;

/**
 * Whether something the server needs to serve traffic is available — a database, a downstream
 * service, a warmed cache. The admin plane's {@code GET /readyz} answers 200 only while the server
 * is running and every registered check passes, so that a load balancer or Kubernetes sends traffic
 * elsewhere meanwhile. Liveness ({@code /livez}) never runs these checks: a database outage must
 * not make the orchestrator restart a healthy process.
 *
 * <pre>{@code
 * Server.builder()
 *     .readinessCheck("db", () -> {
 *       try (var c = dataSource.getConnection()) {
 *         if (!c.isValid(1)) throw new IllegalStateException("connection not valid");
 *       }
 *     })
 * }</pre>
 */
@FunctionalInterface
public interface ReadinessCheck {
  /**
   * Returns normally when ready; throws when not, with a message that says why ({@code /readyz}
   * shows it). Runs on its own virtual thread for each {@code /readyz} request, concurrently with
   * the other checks, so it may block — but only up to the admin plane's check timeout (default 1
   * second): then it counts as failed and its thread is interrupted.
   *
   * @throws Exception any exception means "not ready"
   */
  void check() throws Exception;

  /** A check that fails with {@code "not ready"} while {@code ready} returns false. */
  static ReadinessCheck of(BooleanSupplier ready) {
    return () -> {
      if (!ready.getAsBoolean()) throw new IllegalStateException("not ready");
    };
  }
}
