package dev.lull.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsApproxTest {
  @Test
  void formatsRoundedForPeople() {
    assertThat(Durations.formatApprox(Duration.ZERO)).isEqualTo("0s");
    assertThat(Durations.formatApprox(Duration.ofNanos(850_400))).isEqualTo("850us");
    assertThat(Durations.formatApprox(Duration.ofNanos(123_456_789))).isEqualTo("123ms");
    assertThat(Durations.formatApprox(Duration.ofMillis(12_345))).isEqualTo("12.3s");
    assertThat(Durations.formatApprox(Duration.ofSeconds(20))).isEqualTo("20s");
    assertThat(Durations.formatApprox(Duration.ofSeconds(303))).isEqualTo("5m3s");
    assertThat(Durations.formatApprox(Duration.ofMinutes(125))).isEqualTo("2h5m");
    assertThat(Durations.formatApprox(Duration.ofSeconds(-2))).isEqualTo("-2s");
  }
}
