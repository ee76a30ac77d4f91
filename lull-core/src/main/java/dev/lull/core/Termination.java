package dev.lull.core;

import java.time.Duration;
import java.util.List;

/**
 * How a {@link Lifecycle} ended: the value of {@link Lifecycle#terminated()}.
 *
 * @param reason why it stopped
 * @param took from the stop request to the end
 * @param graceful whether nothing was cut: no request or work cancelled, no connection closed by
 *     force (everything drained in time)
 * @param cancelled requests and work cancelled when the stop timeout expired or the stop was forced
 * @param forceClosed connections closed by force
 * @param abandonedWork tracked work still running at the end (it ignored its cancellation)
 * @param failures exceptions thrown by the engine's steps (each step was still tried), or by its
 *     start
 */
public record Termination(
    StopReason reason,
    Duration took,
    boolean graceful,
    int cancelled,
    int forceClosed,
    long abandonedWork,
    List<Throwable> failures) {

  public Termination {
    failures = List.copyOf(failures);
  }

  /**
   * The exit code a process should end with: {@code 0} after any requested stop (signal, idle, API
   * — also when a stop timeout cut work: the stop was wanted, and systemd must not count it as a
   * failure), {@code 1} when the start failed.
   */
  public int exitCode() {
    return reason == StopReason.START_FAILED ? 1 : 0;
  }
}
