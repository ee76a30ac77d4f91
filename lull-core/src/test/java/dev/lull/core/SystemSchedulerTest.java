package dev.lull.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SystemSchedulerTest {
  @Test
  void runsTasksInDeadlineOrderOnOneDaemonTimerThreadAndSkipsCancelledOnes() throws Exception {
    Scheduler scheduler = Scheduler.system();
    List<String> ran = new CopyOnWriteArrayList<>();
    CountDownLatch last = new CountDownLatch(1);
    Scheduler.Cancellable cancelled =
        scheduler.schedule(() -> ran.add("cancelled"), Duration.ofMillis(20));
    scheduler.schedule(
        () -> {
          Thread t = Thread.currentThread();
          ran.add("late " + t.getName() + " daemon=" + t.isDaemon());
          last.countDown();
        },
        Duration.ofMillis(60));
    scheduler.schedule(() -> ran.add("early"), Duration.ofMillis(1));
    cancelled.cancel();

    assertThat(last.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(ran).containsExactly("early", "late lull-timer daemon=true");
  }

  @Test
  void aThrowingTaskDoesNotStopTheTimerThread() throws Exception {
    Scheduler scheduler = Scheduler.system();
    CountDownLatch after = new CountDownLatch(1);
    scheduler.schedule(
        () -> {
          throw new IllegalStateException("expected by the test");
        },
        Duration.ZERO);
    scheduler.schedule(after::countDown, Duration.ofMillis(5));
    assertThat(after.await(10, TimeUnit.SECONDS)).isTrue();
  }
}
