package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.cli.ActivationHarness.Activation;
import dev.lull.cli.DemoProcess.Client;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The socket-activation harness behaves like a systemd socket unit. */
class ActivationHarnessTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path dir;

  @Test
  void startsTheServerOnAConnectionAndAgainOnTheNextOneAfterItExited() throws Exception {
    try (ActivationHarness h =
        ActivationHarness.builder(dir)
            .tcp("web")
            .unix("local")
            .command(DemoProcess.command()) // no --listen: the demo picks systemd by itself
            .start()) {
      assertThat(h.activations()).as("nothing runs before a connection").isEmpty();

      // The connection waits in the harness's socket while the first server starts.
      String first =
          DemoProcess.get(new java.net.InetSocketAddress("127.0.0.1", h.port("web")), "/");
      assertThat(first).startsWith("HTTP/1.1 200").endsWith("hello from lull (listener web)\n");
      Activation one = h.awaitStart(1, WAIT);
      // The server serves as soon as its listeners are registered, a moment before it logs them.
      h.awaitLog(1, "listening: web on 127.0.0.1:" + h.port("web") + " (from systemd)", WAIT);

      // It stops (the demo has no idle exit yet: SIGTERM it by PID); no new child while no one
      // connects.
      ProcessHandle.of(one.pid()).orElseThrow().destroy();
      List<Integer> codes = h.awaitExits(1, WAIT);
      assertThat(codes).hasSize(1);
      assertThat(h.activations()).hasSize(1);

      // The next connection is accepted by the kernel at once (no refusal while no server runs)
      // and starts a second server, which serves it.
      try (Client c = Client.unix(h.path("local"))) {
        String second = c.get("/").response(WAIT);
        assertThat(second)
            .startsWith("HTTP/1.1 200")
            .endsWith("hello from lull (listener local)\n");
      }
      Activation two = h.awaitStart(2, WAIT);
      assertThat(two.pid()).isNotEqualTo(one.pid());
      h.awaitLog(2, "listening: local on unix:" + h.path("local") + " (from systemd)", WAIT);
    }
  }

  @Test
  void recordsTheExitCodeOfEachChildAndStopsAtTheActivationLimit() throws Exception {
    try (ActivationHarness h =
        ActivationHarness.builder(dir)
            .tcp("web")
            .eager()
            .maxActivations(1)
            .command(
                List.of(
                    "sh",
                    "-c",
                    "echo fds=$LISTEN_FDS pid=$LISTEN_PID self=$$ names=$LISTEN_FDNAMES; exit 7"))
            .start()) {
      Activation a = h.awaitStart(1, WAIT);
      assertThat(h.awaitExits(1, WAIT)).containsExactly(7);
      assertThat(h.log(1).trim())
          .isEqualTo("fds=1 pid=" + a.pid() + " self=" + a.pid() + " names=web");
      assertThat(h.events()).contains("LIMIT");
    }
  }
}
