package dev.lull.core;

/**
 * A piece of tracked work, begun with {@link ActivityTracker#begin(String, String)}: while it runs
 * the server is busy, so it neither exits idle nor finishes a graceful stop. Close it when the work
 * ends, best with try-with-resources:
 *
 * <pre>{@code
 * try (Work w = tracker.begin("job", "import orders.csv")) {
 *   importOrders(w);
 * }
 * }</pre>
 */
public interface Work extends AutoCloseable {
  /** Unique among the work of one tracker, increasing in the order work began. */
  long id();

  /** What sort of work this is, for example {@code job}. */
  String kind();

  /** What this piece of work does, for a status page. */
  String description();

  /** When it began, in the tracker's {@link Ticker} time. */
  long startedAt();

  /**
   * Whether the server asked this work to stop (its stop timeout expired); the work should then end
   * soon, leaving what is unfinished to be resumed later.
   */
  boolean isCancelled();

  /** Ends this work. Idempotent; never throws. */
  @Override
  void close();
}
