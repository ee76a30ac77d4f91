package dev.lull.core;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * One transition of a {@link Lifecycle}, as logged and as told to {@link LifecycleListener}s.
 *
 * @param from the phase left
 * @param to the phase entered
 * @param stopReason why the lifecycle stops; empty for {@code STARTING -> RUNNING}
 * @param detail what happened, in words: {@code started}, {@code drained (busy at stop: 3)}, {@code
 *     stop timeout 20s expired}, {@code forced}...
 * @param took how long the lifecycle was in {@code from}
 * @param counts the {@link ActivityCounts#toMap() activity counts} at the transition, plus: {@code
 *     busy} (what kept the server busy then), and on entering {@link Phase#TERMINATED} {@code
 *     cancelled} (requests and work cancelled) and {@code forceClosed} (connections force-closed)
 */
public record PhaseChange(
    Phase from,
    Phase to,
    Optional<StopReason> stopReason,
    String detail,
    Duration took,
    Map<String, Long> counts) {

  public PhaseChange {
    counts = Map.copyOf(counts);
  }

  @Override
  public String toString() {
    return from
        + " -> "
        + to
        + stopReason.map(r -> " (" + r.label() + ")").orElse("")
        + " after "
        + Durations.formatApprox(took)
        + ": "
        + detail;
  }
}
