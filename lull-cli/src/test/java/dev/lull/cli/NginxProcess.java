package dev.lull.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real nginx (the Debian package {@code nginx}) as a child process of the test: a generated
 * configuration in a directory of the test's, {@code daemon off}, its pid file, error log and temp
 * files in that directory, listening on a loopback port. {@link #close} stops it (SIGTERM: nginx's
 * fast shutdown) and kills by PID whatever of it is left.
 */
final class NginxProcess implements AutoCloseable {
  private final Process process;
  private final Path dir;
  private final int port;

  private NginxProcess(Process process, Path dir, int port) {
    this.process = process;
    this.dir = dir;
    this.port = port;
  }

  /** The nginx executable: on PATH or in /usr/sbin (root's PATH only, on Debian). */
  static Optional<Path> find() {
    List<String> dirs = new ArrayList<>();
    dirs.addAll(List.of(System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")));
    dirs.addAll(List.of("/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"));
    for (String d : dirs) {
      if (d.isEmpty()) continue;
      Path p = Path.of(d, "nginx");
      if (Files.isExecutable(p)) return Optional.of(p);
    }
    return Optional.empty();
  }

  /**
   * The nginx executable, or: the test fails when {@code CI} is set (CI installs nginx, see
   * .ci/run), and is skipped otherwise.
   */
  static Path require() {
    Optional<Path> nginx = find();
    if (nginx.isEmpty()) {
      String why = "no nginx on PATH or in /usr/sbin (apt-get install nginx)";
      if (System.getenv("CI") != null) throw new AssertionError(why);
      Assumptions.abort(why);
    }
    return nginx.get();
  }

  /**
   * Starts nginx with {@code httpBlock} as the body of its {@code http {}} block (temp paths and
   * logs are added) and waits until {@code port} accepts connections.
   */
  static NginxProcess start(Path dir, int port, String httpBlock) throws Exception {
    Path nginx = require();
    Files.createDirectories(dir.resolve("temp"));
    Path conf = dir.resolve("nginx.conf");
    Path errorLog = dir.resolve("error.log");
    StringBuilder c = new StringBuilder();
    // As root, nginx would switch its worker to www-data, which cannot enter the test's temp
    // directory; run it as root then. (Anyone else: the directive is ignored with a warning.)
    if ("root".equals(System.getProperty("user.name"))) c.append("user root;\n");
    c.append("worker_processes 1;\n");
    c.append("error_log ").append(errorLog).append(" info;\n");
    c.append("events { worker_connections 4096; }\n");
    c.append("http {\n");
    c.append("  access_log off;\n");
    for (String t : List.of("client_body", "proxy", "fastcgi", "uwsgi", "scgi")) {
      c.append("  ")
          .append(t)
          .append("_temp_path ")
          .append(dir.resolve("temp").resolve(t))
          .append(";\n");
    }
    c.append(httpBlock).append("}\n");
    Files.writeString(conf, c);
    List<String> cmd =
        List.of(
            nginx.toString(),
            "-p",
            dir.toString(),
            "-c",
            conf.toString(),
            "-e",
            errorLog.toString(),
            "-g",
            "daemon off; pid " + dir.resolve("nginx.pid") + ";");
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("nginx.out").toFile())
            .start();
    NginxProcess n = new NginxProcess(p, dir, port);
    try {
      n.awaitListening(Duration.ofSeconds(20));
    } catch (Throwable e) {
      n.close();
      throw e;
    }
    return n;
  }

  int port() {
    return port;
  }

  /** nginx's error log so far. */
  String errorLog() throws IOException {
    Path log = dir.resolve("error.log");
    return Files.exists(log) ? Files.readString(log) : "";
  }

  /** Polls the port (every 20 ms) until it accepts a connection; fails if nginx exits. */
  private void awaitListening(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (!process.isAlive()) {
        throw new AssertionError(
            "nginx exited with "
                + process.exitValue()
                + ": "
                + Files.readString(dir.resolve("nginx.out"))
                + errorLog());
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        return;
      } catch (IOException notYet) {
        if (System.nanoTime() - deadline > 0) {
          throw new AssertionError("nginx not listening on " + port + ": " + errorLog());
        }
        process.waitFor(20, TimeUnit.MILLISECONDS);
      }
    }
  }

  /** SIGTERM (fast shutdown), then SIGKILL to nginx and its workers if it does not end. */
  @Override
  public void close() throws InterruptedException {
    List<ProcessHandle> workers = process.descendants().toList();
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
    for (ProcessHandle w : workers) {
      if (w.isAlive()) w.destroyForcibly();
    }
  }
}
