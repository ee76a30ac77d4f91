package dev.lull.server.internal.admin;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.server.BoundListener;
import dev.lull.server.ListenerSpec;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import org.junit.jupiter.api.Test;

class AdminAccessTest {
  @Test
  void loopbackAndUnixListenersAreAllowed() {
    for (String spec :
        new String[] {"127.0.0.1:9090", "[::1]:9090", "localhost:9090", "127.0.0.2:0", "unix:/a"}) {
      assertThatCode(() -> AdminAccess.check(ListenerSpec.parse(spec), false))
          .as(spec)
          .doesNotThrowAnyException();
    }
  }

  @Test
  void everyOtherAddressIsRefusedUnlessAdminPublic() {
    for (String spec :
        new String[] {
          ":9090", "0.0.0.0:9090", "[::]:9090", "192.0.2.7:9090", "[2001:db8::1]:9090"
        }) {
      assertThatThrownBy(() -> AdminAccess.check(ListenerSpec.parse(spec), false))
          .as(spec)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("admin listener \"" + spec + "\" is not on a loopback address")
          .hasMessageContaining("--admin-public");
      assertThatCode(() -> AdminAccess.check(ListenerSpec.parse(spec), true))
          .as(spec)
          .doesNotThrowAnyException();
    }
  }

  @Test
  void systemdSocketsAreCheckedOnceAdopted() {
    assertThatCode(() -> AdminAccess.check(ListenerSpec.parse("systemd:admin"), false))
        .doesNotThrowAnyException();
    BoundListener wildcard = new BoundListener("admin", new InetSocketAddress(9090), true);
    assertThatThrownBy(() -> AdminAccess.check(wildcard, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not on a loopback address");
    assertThatCode(() -> AdminAccess.check(wildcard, true)).doesNotThrowAnyException();
    assertThatCode(
            () ->
                AdminAccess.check(
                    new BoundListener("admin", new InetSocketAddress("127.0.0.1", 9090), true),
                    false))
        .doesNotThrowAnyException();
    assertThatCode(
            () ->
                AdminAccess.check(
                    new BoundListener("admin", UnixDomainSocketAddress.of("/run/a.sock"), true),
                    false))
        .doesNotThrowAnyException();
  }
}
