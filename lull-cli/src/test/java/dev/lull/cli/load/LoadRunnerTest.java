package dev.lull.cli.load;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.server.Server;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The runner used directly, where the command line cannot reach: the NIO fallback. */
class LoadRunnerTest {
  private static LoadSpec spec(Target target, int requests) {
    return new LoadSpec(
        target, "GET", List.of(), new byte[0], 2, 0, null, requests, Duration.ofSeconds(5), 1);
  }

  @Test
  void nioTransportReachesTcpAndUnixSockets(@TempDir Path dir) {
    Path socket = dir.resolve("s.sock");
    try (Server server =
        Server.builder()
            .listen("127.0.0.1:0")
            .listen("unix:" + socket)
            .handler((req, res) -> res.send("ok\n"))
            .ioThreads(1)
            .build()
            .start()) {
      Target tcp = Target.parse("http://127.0.0.1:" + server.listeners().get(0).port() + "/", null);
      Target unix = Target.parse("unix:" + socket, "/");

      LoadResult overTcp = new LoadRunner(spec(tcp, 200), ClientTransport.nio()).run(null);
      LoadResult overUnix = new LoadRunner(spec(unix, 200), ClientTransport.nio()).run(null);

      for (LoadResult r : List.of(overTcp, overUnix)) {
        assertThat(r.transport()).isEqualTo("nio");
        assertThat(r.ok()).isEqualTo(200);
        assertThat(r.failed()).isZero();
        assertThat(r.connectionsOpened()).isEqualTo(2);
        assertThat(r.latency().getTotalCount()).isEqualTo(200);
      }
    }
  }

  @Test
  @Timeout(60)
  void stopEndsAnOpenEndedRunAndLetsRequestsInFlightFinish() {
    AtomicReference<LoadRunner> runner = new AtomicReference<>();
    AtomicInteger served = new AtomicInteger();
    try (Server server =
        Server.builder()
            .listen("127.0.0.1:0")
            .handler(
                (req, res) -> {
                  if (served.incrementAndGet() == 100) runner.get().stop(); // as Ctrl-C would
                  res.send("ok\n");
                })
            .ioThreads(1)
            .build()
            .start()) {
      Target tcp = Target.parse("http://127.0.0.1:" + server.listeners().get(0).port() + "/", null);
      runner.set(
          new LoadRunner(
              new LoadSpec(
                  tcp,
                  "GET",
                  List.of(),
                  new byte[0],
                  2,
                  0,
                  Duration.ofHours(1),
                  0,
                  Duration.ofSeconds(5),
                  1)));

      LoadResult r = runner.get().run(null);

      // The 100th request and whatever else was under way when stop() was called complete.
      assertThat(r.total()).isBetween(100L, 110L).isEqualTo(served.get());
      assertThat(r.failed()).isZero();
      assertThat(r.elapsed()).isLessThan(Duration.ofMinutes(1));
    }
  }
}
