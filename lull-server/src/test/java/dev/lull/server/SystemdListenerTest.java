package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SystemdListenerTest {
  @Test
  void systemdListenerWithoutSocketsFailsStartWithOneLine() throws Exception {
    // The test JVM has no LISTEN_* variables.
    try (Server server =
        Server.builder()
            .listen("127.0.0.1:0")
            .listen("systemd:web")
            .handler((req, res) -> res.send("x"))
            .build()) {
      assertThatThrownBy(server::start)
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("listener \"systemd:web\": systemd passed no sockets: LISTEN_PID is not set");
    }
  }
}
