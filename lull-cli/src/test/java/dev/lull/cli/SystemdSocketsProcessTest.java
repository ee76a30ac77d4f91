package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lull.cli.DemoProcess.Client;
import dev.lull.cli.DemoProcess.Output;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code lull demo} adopts the sockets systemd passes, as a real child process: under {@code
 * systemd-socket-activate} for the sockets systemd really passes, and under {@link
 * ActivationHarness} for what systemd never passes (a pipe, a UDP socket) and for a bad
 * environment.
 */
class SystemdSocketsProcessTest {
  private static final Path SOCKET_ACTIVATE = Path.of("/usr/bin/systemd-socket-activate");
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final int O_NONBLOCK = 0_4000;

  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();

  @BeforeAll
  static void needsSystemdSocketActivate() {
    if (!Files.isExecutable(SOCKET_ACTIVATE)) {
      fail(SOCKET_ACTIVATE + " is missing: install systemd (.ci/run does)");
    }
  }

  @AfterEach
  void stopProcesses() throws InterruptedException {
    for (Process p : started) {
      p.destroy();
      if (!p.waitFor(20, TimeUnit.SECONDS)) p.destroyForcibly().waitFor();
    }
  }

  /** systemd-socket-activate running the demo with three named sockets. */
  private record Activated(Process process, Output output, int one, int two, Path unix) {}

  private Activated socketActivate(String... demoArgs) throws Exception {
    Path unix = dir.resolve("unix.sock");
    for (int attempt = 1; ; attempt++) {
      // Free ports: bind port 0, note it, close it; a rare clash is retried below.
      int one = freePort();
      int two = freePort();
      List<String> cmd =
          new ArrayList<>(
              List.of(
                  SOCKET_ACTIVATE.toString(),
                  "-l",
                  "127.0.0.1:" + one,
                  "-l",
                  "127.0.0.1:" + two,
                  "-l",
                  unix.toString(),
                  "--fdname=one:two:unix"));
      cmd.addAll(DemoProcess.command(demoArgs));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      started.add(p);
      Output out = new Output(p.getInputStream());
      if (out.await("Listening on", 3, WAIT)) return new Activated(p, out, one, two, unix);
      if (attempt == 3) fail("systemd-socket-activate did not listen: " + out.lines());
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  void adoptsTwoTcpSocketsAndAUnixSocketAndServesClientsThatConnectedBeforeItStarted()
      throws Exception {
    Activated a = socketActivate("--listen", "systemd");
    // systemd-socket-activate starts the server only once a connection arrives, so all three
    // clients connect (and send their request) before the server process runs.
    try (Client c1 = Client.tcp(a.one()).get("/");
        Client c2 = Client.tcp(a.two()).get("/");
        Client c3 = Client.unix(a.unix()).get("/")) {
      assertThat(c1.response(WAIT)).startsWith("HTTP/1.1 200").endsWith("(listener one)\n");
      assertThat(c2.response(WAIT)).startsWith("HTTP/1.1 200").endsWith("(listener two)\n");
      assertThat(c3.response(WAIT)).startsWith("HTTP/1.1 200").endsWith("(listener unix)\n");
    }
    // Each socket keeps serving: new connections on each, in turn.
    for (int i = 0; i < 3; i++) {
      assertThat(DemoProcess.get(new java.net.InetSocketAddress("127.0.0.1", a.one()), "/"))
          .endsWith("hello from lull (listener one)\n");
      assertThat(DemoProcess.get(java.net.UnixDomainSocketAddress.of(a.unix()), "/"))
          .endsWith("hello from lull (listener unix)\n");
    }
    assertThat(a.output().lines())
        .anySatisfy(
            l ->
                assertThat(l)
                    .endsWith("listening: one on 127.0.0.1:" + a.one() + " (from systemd)"))
        .anySatisfy(
            l ->
                assertThat(l)
                    .endsWith("listening: two on 127.0.0.1:" + a.two() + " (from systemd)"))
        .anySatisfy(
            l -> assertThat(l).endsWith("listening: unix on unix:" + a.unix() + " (from systemd)"));
    // systemd-socket-activate execs the command, so its pid is the server's.
    long pid = a.process().pid();
    for (int fd = 3; fd <= 5; fd++) {
      assertThat(DemoProcess.fdFlags(pid, fd) & O_NONBLOCK)
          .as("O_NONBLOCK on fd %d", fd)
          .isNotZero();
    }

    a.process().destroy();
    assertThat(a.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(a.unix()).as("the socket file systemd made is not deleted").exists();
  }

  @Test
  void adoptsOnlyTheSocketsSelectedByName() throws Exception {
    Activated a = socketActivate("--listen", "systemd:two", "--listen", "public=systemd:unix");
    assertThat(DemoProcess.get(new java.net.InetSocketAddress("127.0.0.1", a.two()), "/"))
        .endsWith("hello from lull (listener two)\n");
    assertThat(DemoProcess.get(java.net.UnixDomainSocketAddress.of(a.unix()), "/"))
        .endsWith("hello from lull (listener public)\n");
    List<String> listening =
        a.output().lines().stream().filter(l -> l.contains("listening: ")).toList();
    assertThat(listening).hasSize(2);
    assertThat(listening.get(0))
        .endsWith("listening: two on 127.0.0.1:" + a.two() + " (from systemd)");
    assertThat(listening.get(1))
        .endsWith("listening: public on unix:" + a.unix() + " (from systemd)");
    // fd 3 ("one") is left alone: still blocking, as systemd passed it.
    assertThat(DemoProcess.fdFlags(a.process().pid(), 3) & O_NONBLOCK).isZero();
  }

  /** Runs the demo once under the harness, started at once, and returns its exit code and log. */
  private record Run(int exitCode, String log) {}

  private Run runOnce(ActivationHarness.Builder harness) throws Exception {
    try (ActivationHarness h = harness.eager().maxActivations(1).start()) {
      int code = h.awaitExits(1, WAIT).get(0);
      return new Run(code, h.log(1));
    }
  }

  private static void assertOneLineError(Run run, String expected) {
    assertThat(run.exitCode()).as(run.log()).isEqualTo(Main.EXIT_USAGE);
    assertThat(run.log().lines().toList()).as("exactly one line, no stack trace").hasSize(1);
    assertThat(run.log()).startsWith("lull: ").contains(expected);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "pipe:bad            | systemd socket fd 3 (bad) is not a socket but pipe:[",
        "udp:bad             | systemd socket fd 3 (bad) is a datagram (SOCK_DGRAM) socket, not a stream socket",
        "tcp-unlistening:bad | systemd socket fd 3 (bad) is a stream socket that is not listening"
      })
  void refusesAnFdThatIsNotAListeningStreamSocket(String socket, String expected) throws Exception {
    Run run =
        runOnce(
            ActivationHarness.builder(dir)
                .socket(socket)
                .command(DemoProcess.command("--listen", "systemd")));
    assertOneLineError(run, "listener \"systemd\": " + expected);
  }

  @Test
  void refusesANameThatSystemdDidNotPass() throws Exception {
    Run run =
        runOnce(
            ActivationHarness.builder(dir)
                .tcp("web")
                .unix("local")
                .command(DemoProcess.command("--listen", "systemd:nope")));
    assertOneLineError(
        run,
        "listener \"systemd:nope\": systemd passed no socket named \"nope\" (names: web, local)");
  }

  @Test
  void refusesToAdoptOneSocketForTwoListeners() throws Exception {
    Run run =
        runOnce(
            ActivationHarness.builder(dir)
                .tcp("web")
                .command(DemoProcess.command("--listen", "systemd", "--listen", "systemd:web")));
    assertOneLineError(
        run,
        "listener \"systemd:web\": systemd socket fd 3 (web) is already used by another listener");
  }

  @Test
  void ignoresSocketsWhoseListenPidIsAnotherProcess() throws Exception {
    Run run =
        runOnce(
            ActivationHarness.builder(dir)
                .tcp("web")
                .setenv("LISTEN_PID", "1")
                .command(DemoProcess.command("--listen", "systemd")));
    assertOneLineError(run, "systemd passed no sockets: LISTEN_PID=1 is not this process (pid ");
  }

  @Test
  void refusesAMalformedListenFds() throws Exception {
    Run run =
        runOnce(
            ActivationHarness.builder(dir)
                .tcp("web")
                .setenv("LISTEN_FDS", "two")
                .command(DemoProcess.command()));
    assertOneLineError(run, "invalid LISTEN_FDS=\"two\" from systemd: not a decimal number");
  }

  @Test
  void refusesSystemdSocketsWithoutEpoll() throws Exception {
    Run run =
        runOnce(
            ActivationHarness.builder(dir)
                .tcp("web")
                .command(
                    DemoProcess.command(
                        List.of("-Dio.netty.transport.noNative=true"), "--listen", "systemd")));
    assertOneLineError(
        run, "systemd sockets need the native epoll transport (Linux), which is unavailable");
  }
}
