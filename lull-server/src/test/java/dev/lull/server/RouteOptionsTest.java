package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RouteOptionsTest {
  @Test
  void unsetOptionsKeepTheServersBehaviour() {
    RouteOptions o = RouteOptions.builder().build();
    assertThat(o.timeout()).isEmpty();
    assertThat(o.timeoutStatus()).isEmpty();
    assertThat(o.interruptOnCancel()).isEmpty();
    assertThat(o.scheduling()).isEmpty();
    assertThat(o)
        .hasToString(
            "RouteOptions{timeout=server's, timeoutStatus=default, interruptOnCancel=server's,"
                + " scheduling=server's}");
  }

  @Test
  void setOptionsAndNewBuilder() {
    RouteOptions o =
        RouteOptions.builder()
            .timeout(Duration.ofSeconds(2))
            .timeoutStatus(504)
            .interruptOnCancel(false)
            .scheduling(Scheduling.SHARED)
            .build();
    assertThat(o.timeout()).contains(Duration.ofSeconds(2));
    assertThat(o.scheduling()).contains(Scheduling.SHARED);
    assertThat(o.timeoutStatus()).hasValue(504);
    assertThat(o.interruptOnCancel()).contains(false);
    assertThat(o.newBuilder().build()).isEqualTo(o).hasSameHashCodeAs(o);
    assertThat(o.newBuilder().timeoutStatus(503).build()).isNotEqualTo(o);
    assertThat(o.newBuilder().scheduling(Scheduling.EVENT_LOOP).build()).isNotEqualTo(o);
    assertThat(o)
        .hasToString(
            "RouteOptions{timeout=2s, timeoutStatus=504, interruptOnCancel=false,"
                + " scheduling=SHARED}");
  }

  @Test
  void invalidOptionsAreNamedWithTheirValue() {
    assertThatThrownBy(() -> RouteOptions.builder().timeout(Duration.ZERO).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("timeout <= 0: 0s");
    assertThatThrownBy(() -> RouteOptions.builder().timeout(Duration.ofMillis(-5)).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("timeout <= 0: ");
    assertThatThrownBy(() -> RouteOptions.builder().timeoutStatus(200).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("timeoutStatus out of range 400-599: 200");
    assertThatThrownBy(() -> RouteOptions.builder().timeoutStatus(600).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("timeoutStatus out of range 400-599: 600");
    assertThatThrownBy(() -> RouteOptions.builder().timeout(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("timeout");
  }

  @Test
  void routerTakesOptionsInBothForms() {
    RouteOptions o = RouteOptions.builder().timeout(Duration.ofSeconds(1)).build();
    Handler h = (req, res) -> res.send("x");
    Router.builder().route("GET /a", h, o).route("POST", "/a", h, o).build();
    assertThatThrownBy(() -> Router.builder().route("GET /a", h, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("options");
    assertThatThrownBy(() -> Router.builder().route("GET /a", h).route("GET /a", h, o))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("duplicate route: GET /a");
  }
}
