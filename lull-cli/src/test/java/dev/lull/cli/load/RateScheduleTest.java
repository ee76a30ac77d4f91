package dev.lull.cli.load;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RateScheduleTest {
  private static final long MS = 1_000_000;

  @Test
  void oneLoopFallsDueEveryIntervalFromZero() {
    RateSchedule s = new RateSchedule(100, 1, 0, 0, 2_000 * MS);

    assertThat(s.limit()).isEqualTo(200);
    assertThat(s.intendedNanos(0)).isZero();
    assertThat(s.intendedNanos(1)).isEqualTo(10 * MS);
    assertThat(s.intendedNanos(199)).isEqualTo(1_990 * MS);
    assertThat(s.dueBy(-1)).isZero();
    assertThat(s.dueBy(0)).isEqualTo(1);
    assertThat(s.dueBy(10 * MS - 1)).isEqualTo(1);
    assertThat(s.dueBy(10 * MS)).isEqualTo(2);
    assertThat(s.dueBy(1_990 * MS)).isEqualTo(200);
    assertThat(s.dueBy(5_000 * MS)).isEqualTo(200); // the duration cuts the schedule
  }

  @Test
  void requestCountCutsTheScheduleBeforeTheDuration() {
    RateSchedule s = new RateSchedule(100, 1, 0, 7, 2_000 * MS);

    assertThat(s.limit()).isEqualTo(7);
    assertThat(s.dueBy(1_000 * MS)).isEqualTo(7);
  }

  @Test
  void aRequestIsDueAtItsIntendedTimeEvenWhenTheIntervalIsNotWhole() {
    RateSchedule s = new RateSchedule(3, 1, 0, 0, 10_000 * MS);

    for (long k = 0; k < 30; k++) {
      long t = s.intendedNanos(k);
      assertThat(s.dueBy(t)).as("k=%d", k).isEqualTo(k + 1);
      assertThat(s.dueBy(t - 1)).as("k=%d", k).isEqualTo(k);
    }
    assertThat(s.intendedNanos(1)).isEqualTo(333_333_334L); // rounded up, never early
  }

  @Test
  void loopsInterleaveAndTogetherKeepTheRate() {
    RateSchedule a = new RateSchedule(100, 2, 0, 0, 1_000 * MS);
    RateSchedule b = new RateSchedule(100, 2, 1, 0, 1_000 * MS);

    assertThat(a.limit() + b.limit()).isEqualTo(100);
    assertThat(a.intendedNanos(0)).isZero();
    assertThat(b.intendedNanos(0)).isEqualTo(10 * MS);
    assertThat(a.intendedNanos(1)).isEqualTo(20 * MS);
    assertThat(a.dueBy(15 * MS) + b.dueBy(15 * MS)).isEqualTo(2);
    assertThat(a.dueBy(20 * MS) + b.dueBy(20 * MS)).isEqualTo(3);
  }

  @Test
  void oddRequestCountSplitsOverLoops() {
    RateSchedule a = new RateSchedule(1000, 3, 0, 10, 0);
    RateSchedule b = new RateSchedule(1000, 3, 1, 10, 0);
    RateSchedule c = new RateSchedule(1000, 3, 2, 10, 0);

    assertThat(a.limit()).isEqualTo(4); // 0, 3, 6, 9
    assertThat(b.limit()).isEqualTo(3); // 1, 4, 7
    assertThat(c.limit()).isEqualTo(3); // 2, 5, 8
  }
}
