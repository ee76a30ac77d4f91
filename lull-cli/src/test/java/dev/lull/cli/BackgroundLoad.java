package dev.lull.cli;

import dev.lull.cli.load.LoadResult;
import dev.lull.cli.load.LoadRunner;
import dev.lull.cli.load.LoadSpec;
import dev.lull.cli.load.Target;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@code lull load} run ({@link LoadRunner}, in process) on a thread of its own, for tests that
 * restart servers under load: start it, watch its ok count while the test does its faults, then
 * {@link #finish} it and check the {@link LoadResult}.
 */
final class BackgroundLoad implements AutoCloseable {
  /** Upper bound of a run: tests stop it earlier with {@link #finish}. */
  static final Duration MAX_RUN = Duration.ofMinutes(4);

  private final String name;
  private final LoadRunner runner;
  private final CompletableFuture<LoadResult> result = new CompletableFuture<>();

  private BackgroundLoad(String name, LoadSpec spec) {
    this.name = name;
    this.runner = new LoadRunner(spec);
    Thread.ofPlatform()
        .name("load-" + name)
        .daemon()
        .start(
            () -> {
              try {
                result.complete(runner.run(null));
              } catch (Throwable e) {
                result.completeExceptionally(e);
              }
            });
  }

  /**
   * A closed loop of keep-alive GETs of {@code url} over {@code connections} connections, each
   * request allowed {@code timeout}, until {@link #finish}.
   */
  static BackgroundLoad get(String name, String url, int connections, Duration timeout) {
    return get(name, url, connections, 0, timeout);
  }

  /** As above; an open loop of {@code rate} requests per second if it is above 0. */
  static BackgroundLoad get(
      String name, String url, int connections, double rate, Duration timeout) {
    LoadSpec spec =
        new LoadSpec(
            Target.parse(url, null),
            "GET",
            List.of(),
            new byte[0],
            connections,
            rate,
            MAX_RUN,
            0,
            timeout,
            1);
    return new BackgroundLoad(name, spec);
  }

  String name() {
    return name;
  }

  long ok() {
    return runner.okSoFar();
  }

  long failed() {
    return runner.failedSoFar();
  }

  /**
   * Waits until the run has counted at least {@code target} ok responses. The counters are plain
   * adders, so this polls them (every 10 ms) up to {@code timeout}.
   */
  void awaitOk(long target, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (this) {
      while (ok() < target) {
        if (result.isDone()) throw new AssertionError(name + ": load run ended at ok " + ok());
        if (System.nanoTime() - deadline > 0) {
          throw new AssertionError(
              name + ": load stuck at ok " + ok() + " (failed " + failed() + "), wanted " + target);
        }
        TimeUnit.MILLISECONDS.timedWait(this, 10);
      }
    }
  }

  /** Stops sending; requests in flight complete or time out; returns the result. */
  LoadResult finish(Duration timeout)
      throws InterruptedException, ExecutionException, TimeoutException {
    runner.stop();
    return result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Stops the run if {@link #finish} was not reached (a test that failed midway). */
  @Override
  public void close() throws InterruptedException {
    runner.stop();
    try {
      result.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // the test already failed; nothing to add
    }
  }
}
