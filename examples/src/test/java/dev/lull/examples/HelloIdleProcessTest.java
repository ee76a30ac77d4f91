package dev.lull.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.cli.ActivationHarness;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link HelloIdle} as a real process under {@link ActivationHarness}, which does what a systemd
 * socket unit does: it exits by itself when idle (exit code 0) and is started again by the next
 * connection, and it drains and exits 0 on SIGTERM.
 */
class HelloIdleProcessTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path dir;

  private static List<String> command(String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(
        List.of(
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "--enable-native-access=ALL-UNNAMED",
            "-cp",
            System.getProperty("java.class.path"),
            HelloIdle.class.getName()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  /** Sends a keep-alive GET on {@code s} and returns the status line and the body. */
  private static String get(Socket s, BufferedReader in) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write("GET / HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    out.flush();
    String status = in.readLine();
    int length = 0;
    for (String h; !(h = in.readLine()).isEmpty(); ) {
      if (h.toLowerCase().startsWith("content-length:"))
        length = Integer.parseInt(h.substring(15).trim());
    }
    char[] body = new char[length];
    int n = 0;
    while (n < length) n += in.read(body, n, length - n);
    return status + " " + new String(body);
  }

  private static Socket connect(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
    s.setSoTimeout(60_000);
    return s;
  }

  private static BufferedReader reader(Socket s) throws IOException {
    return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
  }

  @Test
  void exitsWhenIdleAndTheNextConnectionStartsItAgain() throws Exception {
    try (ActivationHarness h =
        ActivationHarness.builder(dir)
            .tcp("http")
            .maxActivations(3)
            .command(command("1s"))
            .start()) {
      try (Socket s = connect(h.port("http"))) {
        assertThat(get(s, reader(s))).isEqualTo("HTTP/1.1 200 OK Welcome to the home page!\n");
      }
      assertThat(h.awaitExits(1, WAIT)).containsExactly(0);
      assertThat(h.log(1)).contains("RUNNING -> DRAINING (idle)");

      try (Socket s = connect(h.port("http"))) {
        assertThat(get(s, reader(s))).isEqualTo("HTTP/1.1 200 OK Welcome to the home page!\n");
      }
      h.awaitStart(2, WAIT);
      assertThat(h.awaitExits(2, WAIT)).containsExactly(0, 0);
    }
  }

  @Test
  void drainsOnSigtermAndExitsZero() throws Exception {
    try (ActivationHarness h =
            ActivationHarness.builder(dir)
                .tcp("http")
                .maxActivations(1)
                .command(command())
                .start();
        Socket s = connect(h.port("http"))) {
      BufferedReader in = reader(s);
      assertThat(get(s, in)).isEqualTo("HTTP/1.1 200 OK Welcome to the home page!\n");
      h.terminate(1);
      assertThat(in.read()).as("the idle keep-alive connection closes cleanly").isEqualTo(-1);
      assertThat(h.awaitExits(1, WAIT)).containsExactly(0);
      assertThat(h.log(1)).contains("RUNNING -> DRAINING (signal)").contains("force-closed 0");
    }
  }
}
