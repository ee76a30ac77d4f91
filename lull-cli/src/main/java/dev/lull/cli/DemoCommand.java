package dev.lull.cli;

import dev.lull.core.Durations;
import dev.lull.core.SocketActivation;
import dev.lull.server.BoundListener;
import dev.lull.server.Router;
import dev.lull.server.Server;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lull demo}: a small server that shows what Lull does. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the demo server.",
      "Routes: GET / (hello), GET /slow?duration=20s (sleeps, then answers),",
      "GET /stream?chunks=N&interval=100ms (a chunked response)."
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
          .ioThreads(ioThreads);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
    Server server;
    try {
      server = builder.build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new ConfigException(e.getMessage());
    }
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
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopped.countDown();
                }));
    stopped.await();
    return 0;
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
              Duration d = Durations.parse(req.query("duration").orElse("1s"));
              Thread.sleep(d);
              res.send("slept " + Durations.format(d) + "\n");
            })
        .get(
            "/stream",
            (req, res) -> {
              int chunks = Integer.parseInt(req.query("chunks").orElse("10"));
              Duration interval = Durations.parse(req.query("interval").orElse("100ms"));
              res.header("Content-Type", "text/plain; charset=utf-8");
              OutputStream out = res.body();
              for (int i = 1; i <= chunks; i++) {
                out.write(("chunk " + i + " of " + chunks + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                if (i < chunks) Thread.sleep(interval);
              }
              out.close();
            })
        .build();
  }
}
