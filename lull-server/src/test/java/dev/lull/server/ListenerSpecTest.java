package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ListenerSpecTest {
  @ParameterizedTest
  @ValueSource(
      strings = {
        "localhost",
        "127.0.0.1:99999",
        "127.0.0.1:-1",
        "127.0.0.1:http",
        "::1:8080",
        "[::1:8080",
        "unix:",
        "systemd:",
        "bad name=127.0.0.1:80"
      })
  void errorsNameTheText(String text) {
    assertThatThrownBy(() -> ListenerSpec.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("\"" + text + "\"");
  }

  @Test
  void tcp() {
    ListenerSpec s = ListenerSpec.parse("127.0.0.1:8080");
    assertThat(s.kind()).isEqualTo(ListenerSpec.Kind.TCP);
    assertThat(s.host()).isEqualTo("127.0.0.1");
    assertThat(s.port()).isEqualTo(8080);
    assertThat(s.name()).hasValue("127.0.0.1:8080");
  }

  @Test
  void everyInterfaceAndIpv6() {
    assertThat(ListenerSpec.parse(":8080").host()).isEmpty();
    ListenerSpec v6 = ListenerSpec.parse("[::1]:0");
    assertThat(v6.host()).isEqualTo("::1");
    assertThat(v6.port()).isZero();
  }

  @Test
  void named() {
    ListenerSpec s = ListenerSpec.parse("public=127.0.0.1:0");
    assertThat(s.name()).hasValue("public");
    assertThat(s.port()).isZero();
    assertThat(ListenerSpec.parse("api=unix:/run/x.sock").name()).hasValue("api");
  }

  @Test
  void unixAndSystemd() {
    ListenerSpec u = ListenerSpec.parse("unix:/run/lull.sock");
    assertThat(u.kind()).isEqualTo(ListenerSpec.Kind.UNIX);
    assertThat(u.path()).isEqualTo(Path.of("/run/lull.sock"));
    assertThat(ListenerSpec.parse("systemd").fdName()).isEmpty();
    assertThat(ListenerSpec.parse("systemd:web").fdName()).hasValue("web");
  }
}
