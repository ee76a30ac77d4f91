package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lull demo} opens its job store after it serves (docs/STARTUP.md): a job request that comes
 * first waits for the store instead of failing, and a store that cannot be opened still ends the
 * process with exit code 2 and one line saying why.
 */
class DemoLazyJobsProcessTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Pattern PORT = Pattern.compile("listening: \\S+ on 127\\.0\\.0\\.1:(\\d+)");

  @TempDir Path dir;

  private static int port(DemoProcess.Output output) {
    Matcher m =
        output.lines().stream()
            .map(PORT::matcher)
            .filter(Matcher::find)
            .findFirst()
            .orElseThrow(() -> new AssertionError("no port in " + output.lines()));
    return Integer.parseInt(m.group(1));
  }

  @Test
  void aJobRequestAsTheFirstRequestIsAccepted() throws Exception {
    Process demo =
        new ProcessBuilder(
                DemoProcess.command(
                    "--listen",
                    "127.0.0.1:0",
                    "--idle-timeout",
                    "0",
                    "--jobs-dir",
                    dir.resolve("jobs").toString()))
            .redirectErrorStream(true)
            .start();
    try {
      DemoProcess.Output output = new DemoProcess.Output(demo.getInputStream());
      assertThat(output.await("listening: ", 1, WAIT)).as("demo listens").isTrue();
      String body = "a,b\n1,2\n3,4\n";
      try (Socket s = new Socket("127.0.0.1", port(output))) {
        s.setSoTimeout((int) WAIT.toMillis());
        OutputStream out = s.getOutputStream();
        out.write(
            ("POST /jobs/csv HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: "
                    + body.length()
                    + "\r\n\r\n"
                    + body)
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        assertThat(response).startsWith("HTTP/1.1 202 ");
      }
      assertThat(Files.exists(dir.resolve("jobs").resolve("jobs.db"))).isTrue();
    } finally {
      demo.destroy();
      if (!demo.waitFor(20, TimeUnit.SECONDS)) demo.destroyForcibly().waitFor();
    }
  }

  @Test
  void aJobStoreThatCannotBeOpenedEndsTheProcessWithCode2() throws Exception {
    Path notADirectory = Files.writeString(dir.resolve("file"), "not a directory");
    Process demo =
        new ProcessBuilder(
                DemoProcess.command(
                    "--listen",
                    "127.0.0.1:0",
                    "--idle-timeout",
                    "0",
                    "--jobs-dir",
                    notADirectory.resolve("jobs").toString()))
            .redirectErrorStream(true)
            .start();
    try {
      String out = new String(demo.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(demo.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(demo.exitValue()).as(out).isEqualTo(2);
      assertThat(out).contains("lull: --jobs-dir " + notADirectory.resolve("jobs"));
    } finally {
      demo.destroyForcibly().waitFor();
    }
  }
}
