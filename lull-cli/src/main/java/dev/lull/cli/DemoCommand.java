package dev.lull.cli;

import dev.lull.core.Durations;
import dev.lull.core.SocketActivation;
import dev.lull.core.Subprocess;
import dev.lull.server.BoundListener;
import dev.lull.server.Hijacked;
import dev.lull.server.Router;
import dev.lull.server.Server;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lull demo}: a small server that shows what Lull does. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the demo server.",
      "Routes: GET / (hello), GET /slow?duration=20s (sleeps, then answers),",
      "GET /stream?chunks=N&interval=100ms (a chunked response),",
      "GET /raw (takes the connection over: 101 Switching Protocols, then echoes lines)."
    })
final class DemoCommand implements Callable<Integer> {
  private static final System.Logger LOG = System.getLogger("dev.lull.demo");

  @Option(
      names = "--listen",
      paramLabel = "LISTENER",
      description = {
        "Where to listen; repeatable. HOST:PORT ([::1]:0 for IPv6, port 0 = ephemeral),",
        "unix:/path, systemd (every socket systemd passed) or systemd:NAME; NAME=... names it.",
        "Default: systemd when systemd passed sockets (LISTEN_FDS for this LISTEN_PID),",
        "else 127.0.0.1:8080."
      })
  List<String> listen = new ArrayList<>();

  @Option(
      names = "--read-header-timeout",
      paramLabel = "DURATION",
      description = "Time to send a request head (default: ${DEFAULT-VALUE}).",
      defaultValue = "10s")
  String readHeaderTimeout;

  @Option(
      names = "--keep-alive-timeout",
      paramLabel = "DURATION",
      description = "Idle keep-alive connections close after this (default: ${DEFAULT-VALUE}).",
      defaultValue = "60s")
  String keepAliveTimeout;

  @Option(
      names = "--max-header-size",
      paramLabel = "BYTES",
      description = "Largest request head; larger gets 431 (default: ${DEFAULT-VALUE}).",
      defaultValue = "16384")
  int maxHeaderSize;

  @Option(
      names = "--max-request-line",
      paramLabel = "BYTES",
      description = "Longest request line; longer gets 414 (default: ${DEFAULT-VALUE}).",
      defaultValue = "8192")
  int maxRequestLine;

  @Option(
      names = "--max-body-size",
      paramLabel = "BYTES",
      description = "Largest request body; larger gets 413 (default: ${DEFAULT-VALUE}).",
      defaultValue = "10485760")
  long maxBodySize;

  @Option(
      names = "--io-threads",
      paramLabel = "N",
      description = "Event-loop threads; 0 = one per CPU (default: ${DEFAULT-VALUE}).",
      defaultValue = "0")
  int ioThreads;

  @Option(
      names = "--idle-timeout",
      paramLabel = "DURATION",
      description =
          "Exit after this long without activity; 0 = never (default: ${DEFAULT-VALUE}). "
              + "With socket activation systemd starts the next instance on the next connection.",
      defaultValue = "30s")
  String idleTimeout;

  @Option(
      names = "--stop-timeout",
      paramLabel = "DURATION",
      description =
          "On SIGTERM, wait this long for in-flight requests, then cancel them; 0 = forever"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "20s")
  String stopTimeout;

  @Option(
      names = "--kill-timeout",
      paramLabel = "DURATION",
      description =
          "After cancelling, wait this long before closing connections by force"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "5s")
  String killTimeout;

  @Option(
      names = "--drain-delay",
      paramLabel = "DURATION",
      description =
          "On SIGTERM, keep serving this long with readiness failing before stopping"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "0s")
  String drainDelay;

  @Option(
      names = "--request-timeout",
      paramLabel = "DURATION",
      description =
          "Deadline of each request: 503 if it has not answered by then; 0 = none"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "0")
  String requestTimeout;

  @Override
  public Integer call() throws Exception {
    Server.Builder builder = Server.builder().handler(routes());
    try {
      List<String> specs = listen;
      if (specs.isEmpty()) {
        // Reading the sockets also removes LISTEN_* from the environment (see SocketActivation).
        boolean activated = !SocketActivation.inherited().fds().isEmpty();
        specs = List.of(activated ? "systemd" : "127.0.0.1:8080");
      }
      for (String spec : specs) builder.listen(spec);
      builder
          .readHeaderTimeout(duration("--read-header-timeout", readHeaderTimeout))
          .keepAliveTimeout(duration("--keep-alive-timeout", keepAliveTimeout))
          .maxHeaderSize(maxHeaderSize)
          .maxRequestLineLength(maxRequestLine)
          .maxBodySize(maxBodySize)
          .ioThreads(ioThreads)
          .idleTimeout(duration("--idle-timeout", idleTimeout))
          .stopTimeout(duration("--stop-timeout", stopTimeout))
          .killTimeout(duration("--kill-timeout", killTimeout))
          .drainDelay(duration("--drain-delay", drainDelay))
          .requestTimeout(duration("--request-timeout", requestTimeout));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
    Server server;
    try {
      server = builder.build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new ConfigException(e.getMessage());
    }
    server.stopOnSignals();
    try {
      server.start();
    } catch (IllegalStateException | IllegalArgumentException | java.io.UncheckedIOException e) {
      throw new ConfigException(e.getMessage());
    }
    for (BoundListener l : server.listeners()) {
      LOG.log(
          System.Logger.Level.INFO,
          "listening: "
              + l.name()
              + " on "
              + l.address()
              + (l.inherited() ? " (from systemd)" : ""));
    }
    // Exit with the lifecycle's code: 0 after a stop by signal or idle timer (not 143).
    return server.awaitTermination().exitCode();
  }

  private static Duration queryDuration(dev.lull.server.Request req, String name, String fallback) {
    try {
      return Durations.parse(req.query(name).orElse(fallback));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static Duration duration(String option, String value) {
    try {
      return Durations.parse(value);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(option + ": " + e.getMessage());
    }
  }

  static Router routes() {
    return Router.builder()
        .get("/", (req, res) -> res.send("hello from lull (listener " + req.listener() + ")\n"))
        .get(
            "/slow",
            (req, res) -> {
              Duration d = queryDuration(req, "duration", "1s");
              if (d == null) {
                res.send(400, "bad duration\n");
                return;
              }
              Thread.sleep(d);
              res.send("slept " + Durations.format(d) + "\n");
            })
        .get(
            "/exec/sleep",
            (req, res) -> {
              // A subprocess bound to the request: cancelled (client gone, deadline, stop) means
              // killed, with its children. The argument list is fixed; request data is only a
              // number, never shell syntax.
              long seconds;
              try {
                seconds = Long.parseLong(req.query("seconds").orElse("1"));
              } catch (NumberFormatException e) {
                res.send(400, "bad seconds\n");
                return;
              }
              if (seconds < 0 || seconds > 3600) {
                res.send(400, "seconds out of range 0-3600\n");
                return;
              }
              Process p =
                  Subprocess.start(
                      new ProcessBuilder(
                              "sh", "-c", "sleep \"$1\"", "sleep", Long.toString(seconds))
                          .redirectErrorStream(true),
                      req.context(),
                      Subprocess.DEFAULT_GRACE);
              int code = p.waitFor();
              res.send("sleep exited " + code + " (pid " + p.pid() + ")\n");
            })
        .get(
            "/stream",
            (req, res) -> {
              int chunks;
              try {
                chunks = Integer.parseInt(req.query("chunks").orElse("10"));
              } catch (NumberFormatException e) {
                res.send(400, "bad chunks\n");
                return;
              }
              Duration interval = queryDuration(req, "interval", "100ms");
              if (interval == null || chunks < 0) {
                res.send(400, "bad interval or chunks\n");
                return;
              }
              res.header("Content-Type", "text/plain; charset=utf-8");
              OutputStream out = res.body();
              for (int i = 1; i <= chunks; i++) {
                out.write(("chunk " + i + " of " + chunks + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                if (i < chunks) Thread.sleep(interval);
              }
              out.close();
            })
        .get(
            "/raw",
            (req, res) -> {
              // A hijacked connection: Lull sends nothing; the handler speaks for itself and
              // echoes lines until the client shuts down its side. Counts as busy until closed.
              try (Hijacked conn = res.hijack()) {
                OutputStream out = conn.output();
                out.write(
                    ("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                            + "Upgrade: echo\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                BufferedReader in =
                    new BufferedReader(new InputStreamReader(conn.input(), StandardCharsets.UTF_8));
                for (String line; (line = in.readLine()) != null; ) {
                  out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                }
              }
            })
        .build();
  }
}
