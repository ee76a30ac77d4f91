package dev.lull.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.core.testing.ManualClock;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Retries with exponential backoff under a manual clock, max attempts, permanent failures. */
class RetryTest {
  @TempDir Path dir;
  final ManualClock clock = new ManualClock();
  final Instant t0 = Instant.parse("2030-01-01T00:00:00Z");
  final InstantSource wall = () -> t0.plusNanos(clock.read());
  final EventLog events = new EventLog();
  Jobs jobs;

  Jobs start(JobHandler handler) {
    jobs =
        Jobs.builder()
            .dataDirectory(dir)
            .clock(wall)
            .ticker(clock)
            .scheduler(clock)
            .maxAttempts(3)
            .retryBackoff(Duration.ofSeconds(10), Duration.ofSeconds(15))
            .listener(events)
            .handler("job", handler)
            .build()
            .start();
    return jobs;
  }

  String submit() throws IOException {
    return jobs.submit("job", new ByteArrayInputStream(new byte[0]), "");
  }

  /**
   * Advances the clock by {@code step} until job {@code id} has an event matching {@code p}. Steps,
   * because the dispatcher arms its wake-up timer on its own thread: a test advancing the clock at
   * that moment would otherwise move the timer's deadline with it.
   */
  JobEvent advanceUntil(String id, java.util.function.Predicate<JobEvent> p, Duration step)
      throws InterruptedException {
    for (int i = 0; i < 100; i++) {
      clock.advance(step);
      try {
        return events.await(id, p, Duration.ofMillis(200));
      } catch (AssertionError notYet) {
        // advance again
      }
    }
    throw new AssertionError(
        "no matching event after advancing to "
            + clock.elapsed()
            + ": "
            + events.states(id)
            + "; job "
            + jobs.find(id).orElseThrow()
            + "; clock pending "
            + clock.pending()
            + ", next "
            + clock.nextDelay()
            + "; threads "
            + dispatcherDump());
  }

  private static String dispatcherDump() {
    StringBuilder b = new StringBuilder();
    Thread.getAllStackTraces()
        .forEach(
            (t, st) -> {
              if (t.getName().startsWith("lull-jobs")) {
                b.append(t.getName()).append(java.util.Arrays.toString(st)).append('\n');
              }
            });
    return b.toString();
  }

  @AfterEach
  void tearDown() {
    if (jobs != null) jobs.close();
  }

  @Test
  void aFailingJobIsRetriedAfterABackoffThenFailsWithTheLastError() throws Exception {
    start(
        job -> {
          throw new IOException("boom " + job.attempt());
        });
    String id = submit();
    JobEvent first = events.await(id, e -> e.state() == JobState.QUEUED && e.attempt() == 1);
    assertThat(first.detail()).contains("boom 1", "retry in 10s");
    Job waiting = jobs.find(id).orElseThrow();
    assertThat(waiting.state()).isEqualTo(JobState.QUEUED);
    assertThat(waiting.runAfter()).contains(t0.plusSeconds(10));
    assertThat(waiting.error()).contains("IOException: boom 1");

    clock.advance(Duration.ofSeconds(9));
    assertThat(events.states(id)).containsExactly("QUEUED/0", "RUNNING/1", "QUEUED/1");
    JobEvent second =
        advanceUntil(
            id, e -> e.state() == JobState.QUEUED && e.attempt() == 2, Duration.ofSeconds(1));
    assertThat(clock.elapsed()).isGreaterThanOrEqualTo(Duration.ofSeconds(10));
    assertThat(second.detail()).contains("boom 2", "retry in 15s"); // 20s, capped at 15s

    Duration at = clock.elapsed();
    clock.advance(Duration.ofSeconds(14));
    assertThat(events.states(id)).hasSize(5);
    JobEvent last = advanceUntil(id, e -> e.state() == JobState.FAILED, Duration.ofSeconds(1));
    assertThat(clock.elapsed().minus(at)).isGreaterThanOrEqualTo(Duration.ofSeconds(15));
    assertThat(last.attempt()).isEqualTo(3);
    Job failed = jobs.find(id).orElseThrow();
    assertThat(failed.attempts()).isEqualTo(3);
    assertThat(failed.error()).contains("IOException: boom 3");
    assertThat(failed.finishedAt()).isPresent();
    assertThat(events.states(id))
        .containsExactly(
            "QUEUED/0", "RUNNING/1", "QUEUED/1", "RUNNING/2", "QUEUED/2", "RUNNING/3", "FAILED/3");
  }

  @Test
  void aPermanentFailureIsNotRetried() throws Exception {
    start(
        job -> {
          throw new PermanentJobFailure("bad input on line 3");
        });
    String id = submit();
    events.await(id, JobState.FAILED);
    Job failed = jobs.find(id).orElseThrow();
    assertThat(failed.attempts()).isEqualTo(1);
    assertThat(failed.error()).contains("bad input on line 3");
  }

  @Test
  void aJobThatSucceedsOnItsSecondAttemptKeepsItsCheckpoints() throws Exception {
    start(
        job -> {
          if (job.checkpoint("step-1").isEmpty()) job.done("step-1", "a" + job.attempt());
          if (job.attempt() == 1) throw new IOException("transient");
          return Map.of("step1", job.checkpoint("step-1").orElseThrow());
        });
    String id = submit();
    events.await(id, e -> e.state() == JobState.QUEUED && e.attempt() == 1);
    advanceUntil(id, e -> e.state() == JobState.SUCCEEDED, Duration.ofSeconds(10));
    assertThat(jobs.find(id).orElseThrow().result()).contains("{\"step1\":\"a1\"}");
  }

  @Test
  void backoffDoublesUpToItsMaximum() {
    Jobs j =
        Jobs.builder()
            .dataDirectory(dir)
            .retryBackoff(Duration.ofSeconds(1), Duration.ofSeconds(5))
            .handler("x", job -> null)
            .build();
    assertThat(j.backoff(1)).isEqualTo(Duration.ofSeconds(1));
    assertThat(j.backoff(2)).isEqualTo(Duration.ofSeconds(2));
    assertThat(j.backoff(3)).isEqualTo(Duration.ofSeconds(4));
    assertThat(j.backoff(4)).isEqualTo(Duration.ofSeconds(5));
    assertThat(j.backoff(60)).isEqualTo(Duration.ofSeconds(5));
  }
}
