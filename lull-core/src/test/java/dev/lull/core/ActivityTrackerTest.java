package dev.lull.core;

import static dev.lull.core.ConnectionState.ACTIVE;
import static dev.lull.core.ConnectionState.CLOSED;
import static dev.lull.core.ConnectionState.HIJACKED;
import static dev.lull.core.ConnectionState.IDLE;
import static dev.lull.core.ConnectionState.NEW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ActivityTrackerTest {
  private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);

  private final ManualClock clock = new ManualClock();
  private final List<String> events = Collections.synchronizedList(new ArrayList<>());

  private void event(String what) {
    events.add(Durations.format(clock.elapsed()) + " " + what);
  }

  private ActivityTracker tracker(Duration idleTimeout) {
    return tracker(idleTimeout, clock);
  }

  private ActivityTracker tracker(Duration idleTimeout, Scheduler scheduler) {
    ActivityTracker t =
        ActivityTracker.builder()
            .ticker(clock)
            .scheduler(scheduler)
            .idleTimeout(idleTimeout)
            .onIdle(() -> event("IDLE ACTION"))
            .build();
    t.addActivityListener(
        new ActivityListener() {
          @Override
          public void idleTimerArmed(Duration timeout) {
            event("armed " + Durations.format(timeout));
          }

          @Override
          public void idleTimerDisarmed() {
            event("disarmed");
          }

          @Override
          public void idleTimerFired() {
            event("fired");
          }

          @Override
          public void workStarted(Work work) {
            event("work started " + work);
          }

          @Override
          public void workEnded(Work work, Duration took) {
            event("work ended " + work + " after " + Durations.format(took));
          }
        });
    return t;
  }

  @Test
  void countsFollowTheReportedStates() {
    ActivityTracker t = tracker(null);
    t.connectionStateChanged(1, null, NEW);
    t.connectionStateChanged(2, null, NEW);
    t.connectionStateChanged(1, NEW, ACTIVE);
    t.connectionStateChanged(2, NEW, ACTIVE);
    t.connectionStateChanged(2, ACTIVE, IDLE);
    t.connectionStateChanged(3, null, NEW);
    t.connectionStateChanged(3, NEW, ACTIVE);
    t.connectionStateChanged(3, ACTIVE, HIJACKED);
    Work w = t.begin("job", "import");

    assertThat(t.counts()).isEqualTo(new ActivityCounts(0, 1, 1, 1, 1, 3, 0));
    assertThat(t.busy()).isEqualTo(3); // active + hijacked + work; idle does not count
    assertThat(t.counts().busy()).isEqualTo(3);
    assertThat(t.counts().open()).isEqualTo(3);
    assertThat(t.isDrained()).isFalse();

    t.connectionStateChanged(1, ACTIVE, CLOSED);
    t.connectionStateChanged(2, IDLE, CLOSED);
    t.connectionStateChanged(3, HIJACKED, CLOSED);
    w.close();
    w.close(); // idempotent

    assertThat(t.counts()).isEqualTo(new ActivityCounts(0, 0, 0, 0, 0, 3, 3));
    assertThat(t.counts().connections(CLOSED)).isEqualTo(3);
    assertThat(t.busy()).isZero();
    assertThat(t.isDrained()).isTrue();
  }

  @Test
  void idleTimerArmsDisarmsOnActivityRearmsFromZeroAndFiresExactlyOnce() {
    ActivityTracker t = tracker(IDLE_TIMEOUT);
    t.start(); // nothing busy: the countdown starts now
    clock.advance(Duration.ofSeconds(29));
    t.connectionStateChanged(1, null, NEW); // activity at 29s cancels it
    clock.advance(Duration.ofMinutes(5)); // busy for 5 minutes: nothing fires
    t.connectionStateChanged(1, NEW, ACTIVE);
    t.connectionStateChanged(1, ACTIVE, IDLE); // idle again at 329s: from zero
    clock.advance(Duration.ofSeconds(29));
    assertThat(t.untilIdle(clock.read())).contains(Duration.ofSeconds(1));
    clock.advance(Duration.ofSeconds(1)); // 30s after becoming idle
    clock.advance(Duration.ofHours(1));
    t.connectionStateChanged(1, IDLE, ACTIVE);
    t.connectionStateChanged(1, ACTIVE, CLOSED); // idle again after firing: never re-armed
    clock.advance(Duration.ofHours(1));

    assertThat(events)
        .containsExactly(
            "0s armed 30s", "29s disarmed", "329s armed 30s", "359s fired", "359s IDLE ACTION");
    assertThat(clock.pending()).isZero();
  }

  @Test
  void idleKeepAliveConnectionsDoNotKeepTheServerAwake() {
    ActivityTracker t = tracker(IDLE_TIMEOUT);
    t.start();
    t.connectionStateChanged(7, null, NEW);
    t.connectionStateChanged(7, NEW, ACTIVE);
    clock.advance(Duration.ofSeconds(1));
    t.connectionStateChanged(7, ACTIVE, IDLE); // keep-alive, open
    clock.advance(IDLE_TIMEOUT);

    assertThat(events)
        .containsExactly(
            "0s armed 30s", "0s disarmed", "1s armed 30s", "31s fired", "31s IDLE ACTION");
    assertThat(t.counts().idle()).isEqualTo(1);
  }

  @Test
  void aHijackedConnectionKeepsTheServerAwakeUntilItCloses() {
    ActivityTracker t = tracker(IDLE_TIMEOUT);
    t.connectionStateChanged(1, null, NEW);
    t.connectionStateChanged(1, NEW, ACTIVE);
    t.connectionStateChanged(1, ACTIVE, HIJACKED);
    t.start(); // busy: no countdown
    clock.advance(Duration.ofHours(2));
    t.connectionStateChanged(1, HIJACKED, CLOSED);
    clock.advance(IDLE_TIMEOUT);

    assertThat(events).containsExactly("2h armed 30s", "7230s fired", "7230s IDLE ACTION");
  }

  @Test
  void trackedWorkKeepsTheServerAwake() {
    ActivityTracker t = tracker(IDLE_TIMEOUT);
    t.start();
    clock.advance(Duration.ofSeconds(10));
    Work w = t.begin("job", "resize images");
    clock.advance(Duration.ofMinutes(2));
    w.close();
    clock.advance(IDLE_TIMEOUT);

    assertThat(events)
        .containsExactly(
            "0s armed 30s",
            "10s disarmed",
            "10s work started job #1 (resize images)",
            "130s armed 30s",
            "130s work ended job #1 (resize images) after 2m",
            "160s fired",
            "160s IDLE ACTION");
  }

  /**
   * A scheduler whose cancel arrives too late: the task runs anyway, as when it already started.
   */
  private static final class LateCancelScheduler implements Scheduler {
    final ManualClock clock;

    LateCancelScheduler(ManualClock clock) {
      this.clock = clock;
    }

    @Override
    public Cancellable schedule(Runnable task, Duration delay) {
      clock.schedule(task, delay);
      return () -> {};
    }
  }

  @Test
  void aTimerFiringAsAConnectionArrivesDoesNotStopTheServer() {
    ActivityTracker t = tracker(IDLE_TIMEOUT, new LateCancelScheduler(clock));
    t.start();
    clock.advance(IDLE_TIMEOUT.minusNanos(1));
    // The connection is counted; the timer, whose cancel comes too late, runs right after.
    t.connectionStateChanged(1, null, NEW);
    clock.advance(Duration.ofNanos(1));

    assertThat(events).containsExactly("0s armed 30s", "29999999999ns disarmed");
    assertThat(t.busy()).isEqualTo(1);
  }

  @Test
  void aStaleTimerDoesNotCutTheRestartedCountdownShort() {
    ActivityTracker t = tracker(IDLE_TIMEOUT, new LateCancelScheduler(clock));
    t.start(); // timer A due at 30s
    clock.advance(Duration.ofSeconds(20));
    t.connectionStateChanged(1, null, NEW);
    t.connectionStateChanged(1, NEW, CLOSED); // timer B due at 50s
    clock.advance(Duration.ofSeconds(10)); // timer A runs at 30s: stale, nothing
    assertThat(events).doesNotContain("30s fired");
    clock.advance(Duration.ofSeconds(20)); // timer B at 50s fires

    assertThat(events)
        .containsExactly(
            "0s armed 30s", "20s disarmed", "20s armed 30s", "50s fired", "50s IDLE ACTION");
  }

  @Test
  void withoutAnIdleTimeoutOrBeforeStartOrAfterCloseNothingIsArmed() {
    ActivityTracker off = tracker(Duration.ZERO);
    off.start();
    off.connectionStateChanged(1, null, NEW);
    off.connectionStateChanged(1, NEW, CLOSED);
    assertThat(off.idleTimeout()).isEmpty();

    ActivityTracker notStarted = tracker(IDLE_TIMEOUT);
    notStarted.connectionStateChanged(1, null, NEW);
    notStarted.connectionStateChanged(1, NEW, CLOSED);
    clock.advance(Duration.ofHours(1));
    assertThat(events).isEmpty();

    ActivityTracker closed = tracker(IDLE_TIMEOUT);
    closed.start();
    closed.close();
    closed.connectionStateChanged(1, null, NEW);
    closed.connectionStateChanged(1, NEW, CLOSED);
    clock.advance(Duration.ofHours(1));
    assertThat(events).containsExactly("1h armed 30s", "1h disarmed");
    assertThat(clock.pending()).isZero();
  }

  @Test
  void untilIdleIsAPureFunctionOfNow() {
    ActivityTracker t = tracker(IDLE_TIMEOUT);
    assertThat(t.untilIdle(0)).isEmpty(); // not started
    clock.advance(Duration.ofSeconds(100));
    t.start();
    long deadline = t.idleDeadline().orElseThrow();
    assertThat(deadline).isEqualTo(Duration.ofSeconds(130).toNanos());
    assertThat(t.untilIdle(Duration.ofSeconds(118).toNanos())).contains(Duration.ofSeconds(12));
    assertThat(t.untilIdle(Duration.ofSeconds(100).toNanos())).contains(IDLE_TIMEOUT);
    assertThat(t.untilIdle(Duration.ofSeconds(200).toNanos())).contains(Duration.ZERO);
    t.connectionStateChanged(1, null, NEW);
    assertThat(t.untilIdle(clock.read())).isEmpty();
    assertThat(t.idleDeadline()).isEmpty();
  }

  @Test
  void connectionListenersAreCalledInOrderWithEachChangeAndAFailingOneIsIsolated() {
    ActivityTracker t = tracker(null);
    List<String> seen = new ArrayList<>();
    t.addConnectionListener((id, from, to) -> seen.add("a " + id + " " + from + "->" + to));
    t.addConnectionListener(
        (id, from, to) -> {
          throw new IllegalStateException("expected by the test");
        });
    t.addConnectionListener((id, from, to) -> seen.add("b " + id + " " + from + "->" + to));

    t.connectionStateChanged(42, null, NEW);
    t.connectionStateChanged(42, NEW, ACTIVE);
    t.connectionStateChanged(42, ACTIVE, ACTIVE); // no change: ignored
    t.connectionStateChanged(42, ACTIVE, CLOSED);

    assertThat(seen)
        .containsExactly(
            "a 42 null->NEW",
            "b 42 null->NEW",
            "a 42 NEW->ACTIVE",
            "b 42 NEW->ACTIVE",
            "a 42 ACTIVE->CLOSED",
            "b 42 ACTIVE->CLOSED");
  }

  @Test
  void drainedCompletesOnceNoConnectionIsOpenAndNoWorkRuns() {
    ActivityTracker t = tracker(null);
    assertThat(t.drained()).isDone();
    t.connectionStateChanged(1, null, NEW);
    t.connectionStateChanged(1, NEW, ACTIVE);
    t.connectionStateChanged(1, ACTIVE, IDLE);
    Work w = t.begin("job", "x");
    CompletableFuture<Void> drained = t.drained();

    t.connectionStateChanged(1, IDLE, CLOSED);
    assertThat(drained).isNotDone(); // work still runs
    w.close();
    assertThat(drained).isDone();
  }

  @Test
  void cancelWorkAsksEachRunningWorkOnce() {
    ActivityTracker t = tracker(null);
    AtomicInteger cancels = new AtomicInteger();
    Work a = t.begin("job", "a", cancels::incrementAndGet);
    Work b = t.begin("job", "b");
    Work done = t.begin("job", "done", cancels::incrementAndGet);
    done.close();

    assertThat(t.work()).containsExactly(a, b);
    assertThat(t.cancelWork()).isEqualTo(2);
    assertThat(t.cancelWork()).isZero();
    assertThat(cancels).hasValue(1);
    assertThat(a.isCancelled()).isTrue();
    assertThat(b.isCancelled()).isTrue();
    assertThat(done.isCancelled()).isFalse();
  }

  @Test
  void concurrentChangesLeaveExactCountsAndExactlyOneArmedTimer() throws Exception {
    ActivityTracker t = tracker(IDLE_TIMEOUT);
    t.start();
    int threads = 4;
    int perThread = 5_000;
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> workers = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      int base = i * perThread;
      workers.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    try {
                      go.await();
                    } catch (InterruptedException e) {
                      return;
                    }
                    for (int n = 0; n < perThread; n++) {
                      long id = base + n;
                      t.connectionStateChanged(id, null, NEW);
                      t.connectionStateChanged(id, NEW, ACTIVE);
                      t.connectionStateChanged(id, ACTIVE, IDLE);
                      if (n % 7 == 0) t.begin("job", "j").close();
                      t.connectionStateChanged(id, IDLE, CLOSED);
                    }
                  }));
    }
    go.countDown();
    for (Thread w : workers) w.join(TimeUnit.SECONDS.toMillis(60));

    assertThat(t.busy()).isZero();
    assertThat(t.counts()).isEqualTo(new ActivityCounts(0, 0, 0, 0, 0, 20_000, 20_000));
    assertThat(clock.pending()).as("exactly one idle timer armed").isEqualTo(1);
    events.clear();
    clock.advance(IDLE_TIMEOUT);
    assertThat(events).containsExactly("30s fired", "30s IDLE ACTION");
  }

  @Test
  void aNegativeIdleTimeoutIsRefusedWithItsValue() {
    assertThatThrownBy(() -> ActivityTracker.builder().idleTimeout(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("idleTimeout < 0: -1s");
  }

  @Test
  void quiescedCompletesWhenNothingIsBusyEvenWithIdleConnectionsOpen() {
    ActivityTracker t = tracker(null);
    t.connectionStateChanged(1, null, NEW);
    t.connectionStateChanged(1, NEW, ACTIVE);
    CompletableFuture<Void> quiesced = t.quiesced();
    CompletableFuture<Void> drained = t.drained();
    assertThat(quiesced).isNotDone();

    t.connectionStateChanged(1, ACTIVE, IDLE);

    assertThat(quiesced).isDone();
    assertThat(drained).isNotDone();
    assertThat(t.quiesced()).isDone();
  }
}
