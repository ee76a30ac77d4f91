package dev.lull.core.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManualClockTest {
  private final ManualClock clock = new ManualClock();
  private final List<String> ran = new ArrayList<>();

  private Runnable record(String name) {
    return () -> ran.add(name + "@" + clock.elapsed().toMillis());
  }

  @Test
  void advanceRunsDueTasksInDeadlineOrderWithTheClockAtEachDeadline() {
    clock.schedule(record("c"), Duration.ofMillis(300));
    clock.schedule(record("a"), Duration.ofMillis(100));
    clock.schedule(record("b1"), Duration.ofMillis(200));
    clock.schedule(record("b2"), Duration.ofMillis(200));

    clock.advance(Duration.ofMillis(250));

    assertThat(ran).containsExactly("a@100", "b1@200", "b2@200");
    assertThat(clock.elapsed()).isEqualTo(Duration.ofMillis(250));
    assertThat(clock.pending()).isEqualTo(1);
    assertThat(clock.nextDelay()).contains(Duration.ofMillis(50));
  }

  @Test
  void tasksScheduledByTasksRunInTheSameAdvanceWhenDue() {
    clock.schedule(
        () -> {
          ran.add("first@" + clock.elapsed().toMillis());
          clock.schedule(record("second"), Duration.ofMillis(10));
          clock.schedule(record("later"), Duration.ofSeconds(10));
        },
        Duration.ofMillis(5));

    clock.advance(Duration.ofMillis(20));

    assertThat(ran).containsExactly("first@5", "second@15");
  }

  @Test
  void cancelledTasksDoNotRun() {
    Scheduler.Cancellable c = clock.schedule(record("x"), Duration.ofSeconds(1));
    c.cancel();
    clock.advance(Duration.ofSeconds(5));
    assertThat(ran).isEmpty();
    assertThat(clock.pending()).isZero();
  }

  @Test
  void zeroDelayRunsAtTheNextAdvanceNotInsideSchedule() {
    clock.schedule(record("now"), Duration.ZERO);
    assertThat(ran).isEmpty();
    clock.runDue();
    assertThat(ran).containsExactly("now@0");
  }

  @Test
  void readsTheTimeInNanosAndRefusesToGoBack() {
    clock.advance(Duration.ofNanos(1234));
    assertThat(clock.read()).isEqualTo(1234);
    assertThatThrownBy(() -> clock.advance(Duration.ofNanos(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("advance by < 0");
  }
}
