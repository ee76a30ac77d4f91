package dev.lull.jobs.redis;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code redis-server} for the tests: on a free loopback port, in a temporary directory, no
 * snapshots; killed by PID when closed.
 */
final class RedisServer implements AutoCloseable {
  private final Process process;
  private final int port;

  private RedisServer(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  static RedisServer start(Path dir) throws Exception {
    return start(dir, false);
  }

  /** With {@code durable}, an append-only file synced at every write (what the 202 needs). */
  static RedisServer start(Path dir, boolean durable) throws Exception {
    Exception last = null;
    for (int i = 0; i < 5; i++) {
      int port;
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        port = s.getLocalPort();
      }
      Process p =
          new ProcessBuilder(
                  List.of(
                      "redis-server",
                      "--port",
                      Integer.toString(port),
                      "--bind",
                      "127.0.0.1",
                      "--save",
                      "",
                      "--appendonly",
                      durable ? "yes" : "no",
                      "--appendfsync",
                      "always",
                      "--dir",
                      dir.toString()))
              .redirectErrorStream(true)
              .start();
      CompletableFuture<Boolean> ready = new CompletableFuture<>();
      StringBuilder log = new StringBuilder();
      Thread.ofVirtual()
          .start(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                  String line;
                  while ((line = r.readLine()) != null) {
                    synchronized (log) {
                      log.append(line).append('\n');
                    }
                    if (line.contains("Ready to accept connections")) ready.complete(true);
                  }
                } catch (IOException e) {
                  // the process ended
                }
                ready.complete(false);
              });
      boolean ok;
      try {
        ok = ready.get(20, TimeUnit.SECONDS);
      } catch (Exception e) {
        ok = false;
      }
      if (ok) return new RedisServer(p, port);
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      synchronized (log) {
        last = new IllegalStateException("redis-server did not start on " + port + ":\n" + log);
      }
    }
    throw last;
  }

  String uri() {
    return "redis://127.0.0.1:" + port;
  }

  int port() {
    return port;
  }

  @Override
  public void close() throws Exception {
    process.toHandle().destroyForcibly();
    process.onExit().get(20, TimeUnit.SECONDS);
  }
}
