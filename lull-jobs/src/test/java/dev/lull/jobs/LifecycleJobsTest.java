package dev.lull.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.ActivityTracker;
import dev.lull.core.CancelledException;
import dev.lull.core.Lifecycle;
import dev.lull.core.Phase;
import dev.lull.core.StopReason;
import dev.lull.core.Termination;
import dev.lull.core.testing.ManualClock;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Jobs as activity of a lifecycle, under a manual clock: idle exit, drain, stop timeout. */
class LifecycleJobsTest {
  @TempDir Path dir;

  final ManualClock clock = new ManualClock();
  final InstantSource wall = () -> Instant.parse("2030-01-01T00:00:00Z").plusNanos(clock.read());
  final EventLog events = new EventLog();
  final CountDownLatch started = new CountDownLatch(1);
  final CountDownLatch release = new CountDownLatch(1);
  ActivityTracker tracker;
  Lifecycle lifecycle;
  Jobs jobs;
  Jobs next;

  /** A job that waits for {@link #release}; interrupted, it ends as cancelled. */
  Map<String, ?> blocking(JobContext job) {
    started.countDown();
    try {
      release.await();
    } catch (InterruptedException e) {
      throw new CancelledException(job.context().cause().orElseThrow());
    }
    return Map.of("attempt", job.attempt());
  }

  void start(Duration stopTimeout, int workers) {
    tracker =
        ActivityTracker.builder()
            .ticker(clock)
            .scheduler(clock)
            .idleTimeout(Duration.ofSeconds(30))
            .build();
    lifecycle =
        Lifecycle.builder(new NoEngine(), tracker)
            .executor(Runnable::run)
            .stopTimeout(stopTimeout)
            .killTimeout(Duration.ofSeconds(5))
            .build();
    jobs =
        Jobs.builder()
            .dataDirectory(dir)
            .clock(wall)
            .workers(workers)
            .listener(events)
            .handler("block", this::blocking)
            .build()
            .start(lifecycle); // as a server wires it: the router needs jobs before the lifecycle
    lifecycle.start();
  }

  String submit() throws Exception {
    return jobs.submit("block", new ByteArrayInputStream("x".getBytes()), "");
  }

  @AfterEach
  void tearDown() {
    release.countDown();
    if (jobs != null) jobs.close();
    if (next != null) next.close();
  }

  @Test
  void idleTimerDoesNotFireWhileAJobRunsAndFiresAfterItEnds() throws Exception {
    start(Duration.ofSeconds(10), 1);
    assertThat(tracker.idleDeadline()).isPresent(); // armed: nothing busy yet
    String id = submit();
    assertThat(started.await(20, TimeUnit.SECONDS)).isTrue();
    assertThat(tracker.busy()).isEqualTo(1);
    assertThat(tracker.idleDeadline()).isEmpty();

    clock.advance(Duration.ofHours(1));
    assertThat(lifecycle.phase()).isEqualTo(Phase.RUNNING);

    release.countDown();
    events.await(id, JobState.SUCCEEDED);
    assertThat(tracker.busy()).isZero();
    assertThat(tracker.idleDeadline()).isPresent();
    clock.advance(Duration.ofSeconds(29));
    assertThat(lifecycle.phase()).isEqualTo(Phase.RUNNING);
    clock.advance(Duration.ofSeconds(1));
    Termination t = lifecycle.terminated().get(20, TimeUnit.SECONDS);
    assertThat(t.reason()).isEqualTo(StopReason.IDLE);
    assertThat(t.graceful()).isTrue();
  }

  @Test
  void aQueuedJobAlsoKeepsTheServerAwake() throws Exception {
    start(Duration.ofSeconds(10), 1);
    String first = submit();
    assertThat(started.await(20, TimeUnit.SECONDS)).isTrue();
    submit(); // queued behind the first: one worker
    assertThat(tracker.counts().work()).isEqualTo(2);
    release.countDown();
    events.await(first, JobState.SUCCEEDED);
    // The second ran too (same latch, released); only then is the server idle.
    String second = jobs.list(first, 1).get(0).id();
    events.await(second, JobState.SUCCEEDED);
    assertThat(tracker.busy()).isZero();
  }

  @Test
  void drainRefusesIntakeAndLeavesQueuedJobsForTheNextInstance() throws Exception {
    start(Duration.ofSeconds(10), 1);
    String running = submit();
    assertThat(started.await(20, TimeUnit.SECONDS)).isTrue();
    String queued = submit();
    assertThat(tracker.counts().work()).isEqualTo(2);

    lifecycle.stop(StopReason.API);
    assertThat(lifecycle.phase()).isEqualTo(Phase.DRAINING);
    // The queued job no longer holds work; the running one does.
    assertThat(tracker.counts().work()).isEqualTo(1);
    assertThatThrownBy(this::submit)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("stopping");

    release.countDown();
    events.await(running, JobState.SUCCEEDED);
    Termination t = lifecycle.terminated().get(20, TimeUnit.SECONDS);
    assertThat(t.graceful()).isTrue();
    assertThat(events.states(queued)).containsExactly("QUEUED/0");

    next =
        Jobs.builder()
            .dataDirectory(dir)
            .clock(wall) // the same wall clock: job times were written with it
            .listener(events)
            .handler("block", job -> Map.of("attempt", job.attempt()))
            .build()
            .start();
    events.await(queued, JobState.SUCCEEDED);
    assertThat(next.find(queued).orElseThrow().attempts()).isEqualTo(1);
  }

  @Test
  void stopTimeoutReturnsARunningJobToTheQueueAndTheNextInstanceFinishesIt() throws Exception {
    start(Duration.ofSeconds(10), 1);
    String id = submit();
    assertThat(started.await(20, TimeUnit.SECONDS)).isTrue();

    lifecycle.stop(StopReason.SIGNAL);
    clock.advance(Duration.ofSeconds(9));
    assertThat(lifecycle.phase()).isEqualTo(Phase.DRAINING); // still waiting for the job
    clock.advance(Duration.ofSeconds(1)); // stop timeout: the job's work is cancelled
    Termination t = lifecycle.terminated().get(20, TimeUnit.SECONDS);
    // The lifecycle may terminate on the job's thread just before the event is told.
    events.await(id, e -> e.state() == JobState.QUEUED && e.attempt() == 1);
    assertThat(t.graceful()).isFalse();
    assertThat(t.cancelled()).isEqualTo(1);
    assertThat(t.abandonedWork()).isZero();
    assertThat(events.states(id)).containsExactly("QUEUED/0", "RUNNING/1", "QUEUED/1");
    assertThat(events.await(id, e -> e.state() == JobState.QUEUED && e.attempt() == 1).detail())
        .contains("attempt not counted");

    // The store was closed on termination; the next instance on the same directory finishes it.
    next =
        Jobs.builder()
            .dataDirectory(dir)
            .clock(wall) // the same wall clock: job times were written with it
            .listener(events)
            .handler("block", job -> Map.of("attempt", job.attempt()))
            .build()
            .start();
    events.await(id, JobState.SUCCEEDED);
    Job done = next.find(id).orElseThrow();
    assertThat(done.attempts()).isEqualTo(1);
    assertThat(done.result()).contains("{\"attempt\":1}");
  }
}
