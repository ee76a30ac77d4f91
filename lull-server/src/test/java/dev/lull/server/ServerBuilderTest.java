package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class ServerBuilderTest {
  private static Server.Builder valid() {
    return Server.builder().listen("127.0.0.1:0").handler((req, res) -> res.send("ok"));
  }

  private static void rejects(UnaryOperator<Server.Builder> option, String message) {
    assertThatThrownBy(() -> option.apply(valid()).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(message);
  }

  @Test
  void invalidOptionsFailBuildNamingTheOptionAndItsValue() {
    rejects(b -> b.readHeaderTimeout(Duration.ZERO), "readHeaderTimeout <= 0: 0s");
    rejects(b -> b.readHeaderTimeout(Duration.ofMillis(-250)), "readHeaderTimeout <= 0: -250ms");
    rejects(b -> b.keepAliveTimeout(Duration.ofSeconds(-5)), "keepAliveTimeout <= 0: -5s");
    rejects(b -> b.maxRequestLineLength(10), "maxRequestLineLength < 64: 10");
    rejects(b -> b.maxHeaderSize(100), "maxHeaderSize < 256: 100");
    rejects(b -> b.maxBodySize(-1), "maxBodySize < 0: -1");
    rejects(b -> b.ioThreads(-2), "ioThreads < 0: -2");
    rejects(b -> b.responseBufferSize(-1), "responseBufferSize < 0: -1");
  }

  @Test
  void aHandlerAndAListenerAreRequired() {
    assertThatThrownBy(() -> Server.builder().listen("127.0.0.1:0").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("handler");
    assertThatThrownBy(() -> Server.builder().handler((req, res) -> {}).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("listener");
  }

  @Test
  void aBadListenerFailsAtOnceNamingTheText() {
    assertThatThrownBy(() -> Server.builder().listen("localhost"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("\"localhost\"");
  }

  @Test
  void validOptionsBuild() {
    try (Server s =
        valid()
            .readHeaderTimeout(Duration.ofMillis(1))
            .keepAliveTimeout(Duration.ofHours(1))
            .maxBodySize(0)
            .responseBufferSize(0)
            .build()) {
      assertThat(s.listeners()).isEmpty(); // not started
    }
  }
}
