package dev.lull.server.internal.admin;

import dev.lull.core.Durations;
import dev.lull.core.Lifecycle;
import dev.lull.core.Phase;
import dev.lull.core.StopReason;
import dev.lull.server.ReadinessCheck;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs the user's {@link ReadinessCheck}s, each on its own virtual thread and all at once, each
 * bounded by a timeout; combines them with the lifecycle's {@link Lifecycle#isReady()}.
 */
final class ReadinessChecks {
  /**
   * The outcome of one check.
   *
   * @param error why it failed; empty when it passed
   */
  record CheckResult(String name, Optional<String> error, Duration took) {
    boolean ok() {
      return error.isEmpty();
    }
  }

  /**
   * What {@code /readyz} answers.
   *
   * @param ready the lifecycle is ready and every check passed
   * @param checks each check's outcome, in registration order; empty when the lifecycle is not
   *     ready (then the checks are not run)
   */
  record Result(
      boolean ready, Phase phase, Optional<StopReason> stopReason, List<CheckResult> checks) {
    List<String> failing() {
      return checks.stream().filter(c -> !c.ok()).map(CheckResult::name).toList();
    }

    String toJson() {
      Json j = new Json().beginObject();
      j.name("ready").value(ready);
      j.name("phase").value(AdminPlane.label(phase));
      j.name("stopReason").value(stopReason.map(StopReason::label).orElse(null));
      j.name("failing").beginArray();
      for (String f : failing()) j.value(f);
      j.endArray();
      j.name("checks").beginArray();
      for (CheckResult c : checks) {
        j.beginObject();
        j.name("name").value(c.name());
        j.name("ok").value(c.ok());
        j.name("error").value(c.error().orElse(null));
        j.name("tookSeconds").seconds(c.took());
        j.endObject();
      }
      j.endArray();
      return j.endObject().toString();
    }
  }

  private final Lifecycle lifecycle;
  private final Map<String, ReadinessCheck> checks;
  private final Duration timeout;

  ReadinessChecks(Lifecycle lifecycle, Map<String, ReadinessCheck> checks, Duration timeout) {
    this.lifecycle = lifecycle;
    this.checks = new LinkedHashMap<>(checks);
    this.timeout = timeout;
  }

  /**
   * Reads the lifecycle first: once a stop has begun the answer is "not ready" at once, without
   * running the checks. Otherwise runs every check and waits up to the timeout for them.
   */
  Result evaluate() throws InterruptedException {
    boolean lifecycleReady = lifecycle.isReady();
    Phase phase = lifecycle.phase();
    if (!lifecycleReady) {
      return new Result(false, phase, lifecycle.stopReason(), List.of());
    }
    // Completes with the time the check ended, or exceptionally with what it threw.
    record Running(String name, long start, Thread thread, CompletableFuture<Long> done) {}
    List<Running> running = new ArrayList<>();
    for (Map.Entry<String, ReadinessCheck> e : checks.entrySet()) {
      CompletableFuture<Long> done = new CompletableFuture<>();
      ReadinessCheck check = e.getValue();
      long start = System.nanoTime();
      Thread t =
          Thread.ofVirtual()
              .name("lull-readiness-" + e.getKey())
              .start(
                  () -> {
                    try {
                      check.check();
                      done.complete(System.nanoTime());
                    } catch (Throwable failure) {
                      done.completeExceptionally(failure);
                    }
                  });
      running.add(new Running(e.getKey(), start, t, done));
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    List<CheckResult> results = new ArrayList<>();
    for (Running r : running) {
      Optional<String> error;
      long end;
      try {
        end = r.done().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        error = Optional.empty();
      } catch (TimeoutException e) {
        r.thread().interrupt();
        end = deadline;
        error = Optional.of("timed out after " + Durations.format(timeout));
      } catch (ExecutionException e) {
        end = System.nanoTime();
        error = Optional.of(describe(e.getCause()));
      } catch (InterruptedException e) {
        for (Running each : running) each.thread().interrupt();
        throw e;
      }
      results.add(new CheckResult(r.name(), error, Duration.ofNanos(Math.max(0, end - r.start()))));
    }
    boolean allOk = results.stream().allMatch(CheckResult::ok);
    // Read readiness again: a stop that began while the checks ran wins.
    boolean ready = allOk && lifecycle.isReady();
    return new Result(ready, lifecycle.phase(), lifecycle.stopReason(), results);
  }

  private static String describe(Throwable t) {
    String m = t.getMessage();
    return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
  }
}
