package dev.lull.cli;

import dev.lull.server.Server;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import sun.misc.Signal;

/**
 * {@code lull train} (hidden): the workload the launcher runs with {@code -XX:AOTCacheOutput} to
 * build the JDK AOT cache (docs/STARTUP.md). It runs {@code lull demo} on an ephemeral loopback
 * port, exactly as a user would (the same command line parsing, start path, first request and
 * stop), sends it a keep-alive request, a second one, a request for a missing route and one for a
 * missing job (which waits for the job store to open), then raises SIGTERM in this process so that
 * the graceful stop path is what a signal runs. The classes loaded and the methods profiled
 * meanwhile are what the cache holds.
 */
@Command(name = "train", hidden = true, description = "Exercises the demo once, for an AOT cache.")
final class TrainCommand implements Callable<Integer> {
  @Override
  public Integer call() throws Exception {
    Path jobs = Files.createTempDirectory("lull-train-");
    try {
      DemoCommand.onStarted =
          server -> Thread.ofPlatform().name("lull-train").daemon(true).start(() -> drive(server));
      return Main.run(
          "demo", "--listen", "127.0.0.1:0", "--idle-timeout", "0", "--jobs-dir", jobs.toString());
    } finally {
      DemoCommand.onStarted = null;
      deleteTree(jobs);
    }
  }

  private static void drive(Server server) {
    try {
      InetSocketAddress address = (InetSocketAddress) server.listeners().get(0).address();
      try (Socket s = new Socket(address.getAddress(), address.getPort())) {
        s.setSoTimeout(10_000);
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        // The job route waits for the job store, which the demo opens after its first response:
        // the stop then runs with it open, as it does in service.
        for (String path : new String[] {"/", "/", "/missing", "/jobs/train"}) {
          boolean last = path.equals("/jobs/train");
          out.write(
              ("GET "
                      + path
                      + " HTTP/1.1\r\nHost: train\r\n"
                      + (last ? "Connection: close\r\n" : "")
                      + "\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
          out.flush();
          if (last) {
            in.readAllBytes();
          } else {
            readResponse(in);
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      System.err.println("lull train: " + e);
    } finally {
      Signal.raise(new Signal("TERM"));
    }
  }

  /** Reads one response with a Content-Length body. */
  private static void readResponse(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) throw new IOException("connection closed in a response head");
      head.append((char) b);
    }
    long length = 0;
    for (String line : head.toString().split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
        length = Long.parseLong(line.substring(colon + 1).trim());
      }
    }
    in.readNBytes((int) length);
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    }
  }
}
