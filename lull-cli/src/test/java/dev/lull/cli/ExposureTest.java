package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.server.BoundListener;
import dev.lull.server.Server;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the demo exposes (issue #8, item 5): no endpoint runs a command built from request data, and
 * the admin plane stays on loopback unless told otherwise.
 */
class ExposureTest {
  @TempDir Path dir;

  private static long children() {
    return ProcessHandle.current().children().count();
  }

  @Test
  void execSleepRejectsAnythingButANumberAndRunsNothing() throws Exception {
    Path marker = dir.resolve("pwned");
    String m = marker.toString();
    try (Server server =
            Server.builder()
                .listen("127.0.0.1:0")
                .handler(DemoRoutes.routes())
                .ioThreads(1)
                .build()
                .start();
        Socket probe = new Socket()) {
      int port = server.listeners().get(0).port();
      String[] hostile = {
        "1;touch%20" + m,
        "1%3Btouch%20" + m,
        "$(touch%20" + m + ")",
        "%60touch%20" + m + "%60",
        "1%20%26%26%20touch%20" + m,
        "1%7Ctouch%20" + m,
        "1%0Atouch%20" + m,
        "1%00",
        "%201",
        "0x1",
        "1e3",
        "-1",
        "3601",
        "99999999999999999999",
        "",
      };
      long before = children();
      for (String q : hostile) {
        try (HttpConn c = HttpConn.tcp(port)) {
          HttpConn.Response r =
              c.send("GET /exec/sleep?seconds=" + q + " HTTP/1.1\r\nHost: t\r\n\r\n").read();
          assertThat(r.status()).as("seconds=" + q).isEqualTo(400);
        }
        assertThat(children()).as("child processes after seconds=" + q).isEqualTo(before);
      }
      assertThat(marker).doesNotExist();
      // The route does run its fixed program for a valid number: the 400s above are the check.
      try (HttpConn c = HttpConn.tcp(port)) {
        HttpConn.Response r = c.get("/exec/sleep?seconds=0").read();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).startsWith("sleep exited 0");
      }
    }
  }

  @Test
  void theDemoRefusesAPublicAdminAddressWithoutAdminPublic() {
    for (String admin : new String[] {"0.0.0.0:0", ":0", "[::]:0", "192.0.2.2:0"}) {
      int exit =
          Main.run(
              "demo",
              "--listen",
              "127.0.0.1:0",
              "--admin",
              admin,
              "--jobs-dir",
              dir.resolve("jobs").toString());
      assertThat(exit).as("--admin " + admin).isEqualTo(Main.EXIT_USAGE);
    }
  }

  @Test
  void anAdminListenerOnLocalhostIsNotReachableFromAnotherInterface() throws Exception {
    try (Server server =
        Server.builder()
            .listen("127.0.0.1:0")
            .admin("localhost:0")
            .handler(DemoRoutes.routes())
            .ioThreads(1)
            .build()
            .start()) {
      BoundListener admin = server.adminListeners().get(0);
      InetSocketAddress bound = (InetSocketAddress) admin.address();
      assertThat(bound.getAddress().isLoopbackAddress()).as("bound to " + bound).isTrue();
      Optional<InetAddress> external = externalAddress();
      if (external.isPresent()) {
        // The same port on this host's own non-loopback address: nothing listens there.
        try (Socket s = new Socket()) {
          assertThatThrownBy(
                  () -> s.connect(new InetSocketAddress(external.get(), bound.getPort()), 2000))
              .as("connect to " + external.get() + ":" + bound.getPort())
              .isInstanceOf(ConnectException.class);
        }
      }
    }
    assertThatThrownBy(
            () ->
                Server.builder()
                    .listen("127.0.0.1:0")
                    .admin("0.0.0.0:0")
                    .handler(DemoRoutes.routes())
                    .build())
        .hasMessageContaining("--admin-public");
  }

  private static Optional<InetAddress> externalAddress() throws Exception {
    for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!ni.isUp() || ni.isLoopback()) continue;
      for (InetAddress a : Collections.list(ni.getInetAddresses())) {
        if (a instanceof Inet4Address && !a.isLinkLocalAddress()) return Optional.of(a);
      }
    }
    return Optional.empty();
  }
}
