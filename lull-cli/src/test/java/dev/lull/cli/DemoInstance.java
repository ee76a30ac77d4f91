package dev.lull.cli;

import dev.lull.cli.DemoProcess.Output;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One {@code lull demo} child process started by a test, with its own address (not socket
 * activated): its output (stdout and stderr) is collected, and {@link #start} returns once it
 * logged that it listens. {@link #close} kills it by PID if it still runs.
 */
final class DemoInstance implements AutoCloseable {
  private static final Pattern LISTENING =
      Pattern.compile("listening: \\S+ on /?127\\.0\\.0\\.1:(\\d+)");

  private static final Pattern ADMIN = Pattern.compile("admin: http://127\\.0\\.0\\.1:(\\d+)/");

  private final String name;
  private final Process process;
  private final Output output;
  private final int port;

  private DemoInstance(String name, Process process, Output output, int port) {
    this.name = name;
    this.process = process;
    this.output = output;
    this.port = port;
  }

  /** Starts {@code lull demo ARGS} and waits until it listens (its first public listener). */
  static DemoInstance start(String name, Duration timeout, String... demoArgs) throws Exception {
    Process p = new ProcessBuilder(DemoProcess.command(demoArgs)).redirectErrorStream(true).start();
    Output out = new Output(p.getInputStream());
    try {
      if (!out.await("listening: ", 1, timeout)) {
        throw new AssertionError(name + " exited before listening: " + out.lines());
      }
      Matcher m =
          out.lines().stream()
              .map(LISTENING::matcher)
              .filter(Matcher::find)
              .findFirst()
              .orElseThrow(() -> new AssertionError(name + ": no port in " + out.lines()));
      return new DemoInstance(name, p, out, Integer.parseInt(m.group(1)));
    } catch (Throwable e) {
      p.destroyForcibly();
      throw e;
    }
  }

  String name() {
    return name;
  }

  int port() {
    return port;
  }

  /** The port of its admin listener ({@code --admin 127.0.0.1:0}), once it logged it. */
  int adminPort(Duration timeout) throws Exception {
    if (!output.await("admin: http://", 1, timeout)) {
      throw new AssertionError(name + " exited without an admin listener: " + log());
    }
    Matcher m = ADMIN.matcher(log());
    if (!m.find()) throw new AssertionError(name + ": no admin port in " + log());
    return Integer.parseInt(m.group(1));
  }

  long pid() {
    return process.pid();
  }

  Process process() {
    return process;
  }

  /** Everything it wrote so far, one string. */
  String log() {
    return String.join("\n", output.lines());
  }

  List<String> lines() {
    return output.lines();
  }

  /**
   * Sends SIGTERM. Through its {@link ProcessHandle}: {@link Process#destroy()} also closes our end
   * of its output pipe, so its last lines (the drain) would be lost, and its writes would fail.
   */
  void terminate() {
    process.toHandle().destroy();
  }

  /** Sends SIGKILL. */
  void kill() {
    process.toHandle().destroyForcibly();
  }

  /** Waits for the process to exit and returns its exit code (137 after SIGKILL). */
  int awaitExit(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError(name + " did not exit within " + timeout + ":\n" + log());
    }
    output.awaitEnd(Duration.ofSeconds(10)); // the last lines it wrote
    return process.exitValue();
  }

  /** Kills it by PID if it still runs, and waits for it. */
  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(20, TimeUnit.SECONDS);
    }
  }
}
