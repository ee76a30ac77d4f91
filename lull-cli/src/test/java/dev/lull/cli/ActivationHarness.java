package dev.lull.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Does in tests what a systemd {@code .socket} unit does: holds listening sockets for the whole
 * test and starts the server as a child process, with the sockets as fds 3.. and {@code
 * LISTEN_FDS}/{@code LISTEN_PID}/{@code LISTEN_FDNAMES}, whenever a connection waits and no child
 * runs; records each child's exit code; starts the next child on the next connection.
 *
 * <p>Java cannot pass arbitrary fds to a child, so the fd passing is a small Python 3 script
 * ({@code activation_harness.py} next to this class in the test resources), driven from here: it
 * reports events on its stdout and stops (terminating its child) when its stdin closes. Each
 * child's output goes to its own log file, readable with {@link #log(int)}.
 *
 * <pre>{@code
 * try (ActivationHarness h = ActivationHarness.builder(tempDir).tcp("web")
 *     .command(DemoProcess.command("--listen", "systemd")).start()) {
 *   // connect to h.port("web"): the first connection starts the server
 *   h.awaitStart(1, Duration.ofSeconds(30));
 * }
 * }</pre>
 */
public final class ActivationHarness implements AutoCloseable {
  /** One child process the harness started. */
  public record Activation(int number, long pid, Path log, Integer exitCode) {
    public boolean exited() {
      return exitCode != null;
    }
  }

  private final Process process;
  private final Path dir;
  private final Map<String, String> addresses = new LinkedHashMap<>();
  private final List<Activation> activations = new ArrayList<>();
  private final List<String> events = new ArrayList<>();
  private boolean ready;
  private boolean ended;
  private final Thread reader;

  private ActivationHarness(Process process, Path dir) {
    this.process = process;
    this.dir = dir;
    this.reader = Thread.ofPlatform().daemon().name("activation-harness").start(this::readEvents);
  }

  public static Builder builder(Path dir) {
    return new Builder(dir);
  }

  /** The port of the TCP socket {@code name}. */
  public int port(String name) {
    String address = address(name);
    return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
  }

  /** The path of the Unix socket {@code name}. */
  public Path path(String name) {
    return Path.of(address(name));
  }

  private synchronized String address(String name) {
    return Objects.requireNonNull(addresses.get(name), () -> "no socket named " + name);
  }

  /** The children started so far, in order. */
  public synchronized List<Activation> activations() {
    return List.copyOf(activations);
  }

  /** The exit codes of the children that exited, in order; -N for a child killed by signal N. */
  public synchronized List<Integer> exitCodes() {
    return activations.stream().filter(Activation::exited).map(Activation::exitCode).toList();
  }

  /** Every event line the harness printed so far, for failure messages. */
  public synchronized List<String> events() {
    return List.copyOf(events);
  }

  /** Waits until activation {@code number} (from 1) has started and returns it. */
  public Activation awaitStart(int number, Duration timeout) throws InterruptedException {
    return await(timeout, "activation " + number + " to start", () -> activations.size() >= number)
        .get(number - 1);
  }

  /** Waits until {@code count} children have exited; returns their exit codes in order. */
  public List<Integer> awaitExits(int count, Duration timeout) throws InterruptedException {
    await(timeout, count + " exits", () -> exitCodes().size() >= count);
    return exitCodes().subList(0, count);
  }

  /**
   * Waits up to {@code timeout} for {@code count} children to have exited; false if they have not
   * by then. For tests that show a server stays up: it fails fast if it exits.
   */
  public synchronized boolean exitedWithin(int count, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (exitCodes().size() < count) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || ended) return false;
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return true;
  }

  /**
   * Waits until child {@code number}'s log contains {@code text}; the log is a file, so this polls
   * it (every 20 ms) up to {@code timeout}.
   */
  public void awaitLog(int number, String text, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!log(number).contains(text)) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError(
            "child "
                + number
                + " did not log \""
                + text
                + "\" in "
                + timeout
                + ":\n"
                + log(number));
      }
      synchronized (this) {
        TimeUnit.MILLISECONDS.timedWait(this, 20); // or sooner, on a harness event
      }
    }
  }

  /** Sends SIGTERM to child {@code number} (if it has not exited: its pid may be reused then). */
  public void terminate(int number) {
    Activation a = activations().get(number - 1);
    if (!a.exited()) ProcessHandle.of(a.pid()).ifPresent(ProcessHandle::destroy);
  }

  private synchronized List<Activation> await(
      Duration timeout, String what, java.util.function.BooleanSupplier done)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!done.getAsBoolean()) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || ended) {
        throw new AssertionError(
            "harness: gave up waiting for " + what + "; events " + events + "; " + stderr());
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return List.copyOf(activations);
  }

  /** What child {@code number} wrote on stdout and stderr so far. */
  public String log(int number) {
    try {
      Path log = dir.resolve("child-" + number + ".log");
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private String stderr() {
    try {
      Path err = dir.resolve("harness.err");
      return Files.exists(err) ? "harness stderr: " + Files.readString(err) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private void readEvents() {
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) onEvent(line);
    } catch (IOException e) {
      // the harness is gone; ended below
    } finally {
      synchronized (this) {
        ended = true;
        notifyAll();
      }
    }
  }

  private synchronized void onEvent(String line) {
    events.add(line);
    String[] w = line.split(" ");
    switch (w[0]) {
      case "SOCKET" -> addresses.put(w[1], w[3]);
      case "READY" -> ready = true;
      case "START" -> {
        int n = Integer.parseInt(w[1]);
        activations.add(
            new Activation(n, Long.parseLong(w[2]), dir.resolve("child-" + n + ".log"), null));
      }
      case "EXIT" -> {
        int n = Integer.parseInt(w[1]);
        Activation a = activations.get(n - 1);
        activations.set(n - 1, new Activation(n, a.pid(), a.log(), Integer.parseInt(w[3])));
      }
      default -> {
        // LIMIT, BYE: kept in events
      }
    }
    notifyAll();
  }

  /**
   * Stops the harness: it terminates a running child (SIGTERM, then SIGKILL after its stop
   * timeout), closes the sockets and removes their files. If the harness itself does not end, it
   * and its running child are killed by PID.
   */
  @Override
  public void close() throws InterruptedException {
    try {
      process.getOutputStream().close();
    } catch (IOException ignored) {
      // already gone
    }
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroy();
      if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
    }
    // Only children never reported as exited: the pid of one that exited may belong to another
    // process by now.
    for (Activation a : activations()) {
      if (!a.exited()) ProcessHandle.of(a.pid()).ifPresent(ProcessHandle::destroyForcibly);
    }
    reader.join(Duration.ofSeconds(5));
  }

  /** Configures a harness: its sockets, the child's environment and command. */
  public static final class Builder {
    private final Path dir;
    private final List<String> args = new ArrayList<>();
    private List<String> command;

    private Builder(Path dir) {
      this.dir = dir;
    }

    /** A TCP socket on 127.0.0.1 with an ephemeral port. */
    public Builder tcp(String name) {
      return socket("tcp:" + name);
    }

    /** A Unix stream socket in the harness's directory. */
    public Builder unix(String name) {
      return socket("unix:" + name + "=" + dir.resolve(name + ".sock"));
    }

    /**
     * Any socket the script knows: {@code tcp:NAME[=HOST:PORT]}, {@code unix:NAME=PATH}, and what
     * systemd would never pass, {@code udp:NAME}, {@code tcp-unlistening:NAME}, {@code pipe:NAME}.
     */
    public Builder socket(String spec) {
      args.add("--socket");
      args.add(spec);
      return this;
    }

    /** Sets a variable in the child's environment, after LISTEN_*, so it may override them. */
    public Builder setenv(String key, String value) {
      args.add("--setenv");
      args.add(key + "=" + value);
      return this;
    }

    /** Starts the first child at once, without waiting for a connection. */
    public Builder eager() {
      args.add("--eager");
      return this;
    }

    /** Starts at most {@code n} children (default 50), so a failing child cannot loop forever. */
    public Builder maxActivations(int n) {
      args.add("--max-activations");
      args.add(Integer.toString(n));
      return this;
    }

    public Builder command(List<String> command) {
      this.command = List.copyOf(command);
      return this;
    }

    /** Starts the harness and returns once its sockets listen. */
    public ActivationHarness start() throws IOException, InterruptedException, TimeoutException {
      Objects.requireNonNull(command, "command");
      Files.createDirectories(dir);
      List<String> cmd = new ArrayList<>(List.of(python(), script().toString()));
      cmd.addAll(List.of("--log-dir", dir.toString()));
      cmd.addAll(args);
      cmd.add("--");
      cmd.addAll(command);
      ProcessBuilder pb =
          new ProcessBuilder(cmd).redirectError(dir.resolve("harness.err").toFile());
      ActivationHarness h = new ActivationHarness(pb.start(), dir);
      try {
        h.await(Duration.ofSeconds(30), "READY", () -> h.ready);
      } catch (AssertionError | InterruptedException e) {
        h.close();
        throw e;
      }
      return h;
    }

    private static String python() {
      for (String candidate : List.of("/usr/bin/python3", "/usr/local/bin/python3")) {
        if (Files.isExecutable(Path.of(candidate))) return candidate;
      }
      return "python3";
    }

    /** The script: a file on the test class path, or copied out of the jar that holds it. */
    private Path script() throws IOException {
      java.net.URL url = ActivationHarness.class.getResource("activation_harness.py");
      if (url == null) throw new IllegalStateException("activation_harness.py is missing");
      if (url.getProtocol().equals("file")) {
        try {
          return Path.of(url.toURI());
        } catch (URISyntaxException e) {
          throw new IllegalStateException(e);
        }
      }
      Path copy = dir.resolve("activation_harness.py");
      try (java.io.InputStream in = url.openStream()) {
        Files.copy(in, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
      return copy;
    }
  }
}
