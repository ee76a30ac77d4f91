package dev.lull.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The demo server as a child process, and a minimal HTTP client for tests about processes. */
final class DemoProcess {
  private DemoProcess() {}

  /**
   * The command line that runs {@code lull demo ARGS} from the test class path, with the flags the
   * {@code lull} launcher and jar use, tuned for a quick start.
   */
  static List<String> command(String... demoArgs) {
    return command(List.of(), demoArgs);
  }

  /** Same as {@link #command(String...)} with extra JVM flags, e.g. system properties. */
  static List<String> command(List<String> jvmFlags, String... demoArgs) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmFlags);
    cmd.addAll(
        List.of(
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Xshare:auto",
            "-Dio.netty.jfr.enabled=false",
            "--enable-native-access=ALL-UNNAMED",
            "--add-opens",
            "java.base/java.lang=ALL-UNNAMED",
            "-cp",
            System.getProperty("java.class.path"),
            Main.class.getName(),
            "demo"));
    cmd.addAll(List.of(demoArgs));
    if (!List.of(demoArgs).contains("--jobs-dir")) {
      // Never the user's ~/.local/state/lull/jobs: a demo running there (or another test's)
      // holds its lock.
      cmd.addAll(List.of("--jobs-dir", freshJobsDir().toString()));
    }
    return cmd;
  }

  private static final List<Path> JOBS_DIRS = new ArrayList<>();

  private static synchronized Path freshJobsDir() {
    try {
      if (JOBS_DIRS.isEmpty()) {
        Runtime.getRuntime()
            .addShutdownHook(new Thread(DemoProcess::deleteJobsDirs, "delete-demo-jobs-dirs"));
      }
      Path dir = java.nio.file.Files.createTempDirectory("lull-demo-jobs");
      JOBS_DIRS.add(dir);
      return dir;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static synchronized void deleteJobsDirs() {
    for (Path dir : JOBS_DIRS) {
      try (var files = java.nio.file.Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      } catch (java.io.IOException | RuntimeException e) {
        // best effort: a temp dir
      }
    }
  }

  /** A connected client; the request is sent at once, the response read by {@link #response}. */
  static final class Client implements AutoCloseable {
    private final SocketChannel channel;

    private Client(SocketChannel channel) {
      this.channel = channel;
    }

    static Client connect(SocketAddress address) throws IOException {
      return new Client(SocketChannel.open(address));
    }

    static Client tcp(int port) throws IOException {
      return connect(new InetSocketAddress("127.0.0.1", port));
    }

    static Client unix(Path path) throws IOException {
      return connect(UnixDomainSocketAddress.of(path));
    }

    /** Sends {@code GET path} with {@code Connection: close}. */
    Client get(String path) throws IOException {
      OutputStream out = Channels.newOutputStream(channel);
      out.write(
          ("GET " + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return this;
    }

    /** Everything the server sent until it closed the connection. */
    String response(Duration timeout) throws IOException, InterruptedException, TimeoutException {
      InputStream in = Channels.newInputStream(channel);
      CompletableFuture<String> read = new CompletableFuture<>();
      Thread.ofVirtual()
          .start(
              () -> {
                try {
                  read.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                  read.completeExceptionally(e);
                }
              });
      try {
        return read.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        throw new IOException(e.getCause());
      } finally {
        channel.close();
      }
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }

  /** GET {@code path} on a new connection and return the whole response. */
  static String get(SocketAddress address, String path)
      throws IOException, InterruptedException, TimeoutException {
    try (Client c = Client.connect(address)) {
      return c.get(path).response(Duration.ofSeconds(30));
    }
  }

  /** Collects the lines a process writes, so tests can wait for one. */
  static final class Output {
    private final List<String> lines = new ArrayList<>();
    private boolean ended;

    Output(InputStream in) {
      Thread.ofPlatform()
          .daemon()
          .start(
              () -> {
                try (var r =
                    new java.io.BufferedReader(
                        new java.io.InputStreamReader(in, StandardCharsets.UTF_8))) {
                  for (String line; (line = r.readLine()) != null; ) add(line);
                } catch (IOException e) {
                  // process gone
                } finally {
                  synchronized (this) {
                    ended = true;
                    notifyAll();
                  }
                }
              });
    }

    private synchronized void add(String line) {
      lines.add(line);
      notifyAll();
    }

    synchronized List<String> lines() {
      return List.copyOf(lines);
    }

    /**
     * Waits until {@code count} lines contain {@code text}; false if the output ended first.
     *
     * @throws TimeoutException if neither happens in time
     */
    synchronized boolean await(String text, int count, Duration timeout)
        throws InterruptedException, TimeoutException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (lines.stream().filter(l -> l.contains(text)).count() < count) {
        if (ended) return false;
        long left = deadline - System.nanoTime();
        if (left <= 0)
          throw new TimeoutException("no " + count + " lines with " + text + " in " + lines);
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
      return true;
    }

    /** Waits until the process closed its output (it exited and every line was read). */
    synchronized boolean awaitEnd(Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!ended) {
        long left = deadline - System.nanoTime();
        if (left <= 0) return false;
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
      return true;
    }
  }

  /** The flags word of {@code /proc/PID/fdinfo/FD}, in octal as the kernel writes it. */
  static int fdFlags(long pid, int fd) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/fdinfo/" + fd))) {
      if (line.startsWith("flags:")) return Integer.parseInt(line.substring(6).trim(), 8);
    }
    throw new IOException("no flags in fdinfo of " + pid + "/" + fd);
  }
}
