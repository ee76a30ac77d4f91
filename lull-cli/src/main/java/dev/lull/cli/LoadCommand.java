package dev.lull.cli;

import dev.lull.cli.load.LoadResult;
import dev.lull.cli.load.LoadRunner;
import dev.lull.cli.load.LoadSpec;
import dev.lull.cli.load.Target;
import dev.lull.core.Durations;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lull load}: an HTTP/1.1 load generator that reuses keep-alive connections. See
 * docs/LOAD.md for the model and what each count means.
 */
@Command(
    name = "load",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Sends HTTP/1.1 requests over a fixed set of keep-alive connections and reports",
      "successes, failures by kind and the latency distribution.",
      "Closed loop by default (each connection sends its next request when the previous",
      "one completes); --rate R for an open loop at R requests per second.",
      "Exit code: 0 if every request got a 2xx, 1 if any failed, 2 for bad usage."
    })
final class LoadCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(
      index = "0",
      paramLabel = "URL",
      description = "http://host[:port]/path?query, or unix:/path/to/socket (see --path).")
  String url;

  @Option(
      names = {"-c", "--connections"},
      paramLabel = "N",
      description =
          "Keep-alive connections; never more are open at once (default: ${DEFAULT-VALUE}).",
      defaultValue = "8")
  int connections;

  @Option(
      names = {"-r", "--rate"},
      paramLabel = "REQ/S",
      description = "Open loop: this many requests per second over all connections.")
  Double rate;

  @Option(
      names = {"-d", "--duration"},
      paramLabel = "DURATION",
      description = "Stop sending after this long, e.g. 10s (with --requests: whichever first).")
  String duration;

  @Option(
      names = {"-n", "--requests"},
      paramLabel = "N",
      description = "Stop after this many requests (with --duration: whichever first).")
  Long requests;

  @Option(
      names = {"-m", "--method"},
      paramLabel = "METHOD",
      description = "Request method (default: ${DEFAULT-VALUE}).",
      defaultValue = "GET")
  String method;

  @Option(
      names = {"-H", "--header"},
      paramLabel = "'NAME: VALUE'",
      description = "Adds a request header; repeatable.")
  List<String> headers = new ArrayList<>();

  @Option(names = "--body", paramLabel = "TEXT", description = "Request body, as UTF-8 text.")
  String body;

  @Option(
      names = "--body-file",
      paramLabel = "FILE",
      description = "Request body: the bytes of this file.")
  Path bodyFile;

  @Option(
      names = "--path",
      paramLabel = "PATH",
      description = "For a unix: URL, the request path and query (default: /).")
  String path;

  @Option(
      names = {"-t", "--timeout"},
      paramLabel = "DURATION",
      description =
          "Time for one request from when it is sent, connecting included (default: ${DEFAULT-VALUE}).",
      defaultValue = "10s")
  String timeout;

  @Option(
      names = "--threads",
      paramLabel = "N",
      description =
          "Event-loop threads; connections are spread over them (default: ${DEFAULT-VALUE}).",
      defaultValue = "1")
  int threads;

  @Option(
      names = "--progress",
      description = "Print a progress line every second on stderr even when it is not a terminal.")
  boolean progress;

  @Option(names = "--json", description = "Print the summary as one JSON object.")
  boolean json;

  @Override
  public Integer call() {
    LoadSpec load = spec();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    LoadRunner runner = new LoadRunner(load);
    CountDownLatch reported = new CountDownLatch(1);
    // Ctrl-C: stop sending, let requests in flight finish, print the summary, then exit.
    Thread hook =
        new Thread(
            () -> {
              runner.stop();
              try {
                reported.await(load.timeout().toMillis() + 2000, TimeUnit.MILLISECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "lull-load-stop");
    boolean hooked = addShutdownHook(hook);
    try {
      LoadResult result = runner.run(progress || stderrIsTerminal() ? err : null);
      out.print(json ? result.toJson() + System.lineSeparator() : result.toText());
      out.flush();
      return result.failed() == 0 ? 0 : 1;
    } finally {
      reported.countDown();
      if (hooked) removeShutdownHook(hook);
    }
  }

  /** Validates the options into a spec; a bad value is a {@link ConfigException} naming it. */
  LoadSpec spec() {
    Target target;
    try {
      target = Target.parse(url, path);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
    if (connections < 1) throw new ConfigException("--connections must be >= 1: " + connections);
    if (threads < 1 || threads > connections) {
      throw new ConfigException(
          "--threads must be between 1 and --connections (" + connections + "): " + threads);
    }
    double r = 0;
    if (rate != null) {
      if (!(rate > 0) || rate.isInfinite())
        throw new ConfigException("--rate must be > 0: " + rate);
      r = rate;
    }
    Duration d = null;
    if (duration != null) {
      d = duration("--duration", duration);
      if (d.isZero()) throw new ConfigException("--duration must be > 0: " + duration);
    }
    long n = 0;
    if (requests != null) {
      if (requests < 1) throw new ConfigException("--requests must be >= 1: " + requests);
      n = requests;
    }
    if (d == null && n == 0) {
      throw new ConfigException("give --duration or --requests (or both) to bound the run");
    }
    Duration t = duration("--timeout", timeout);
    if (t.isZero()) throw new ConfigException("--timeout must be > 0: " + timeout);
    String m = method.toUpperCase(Locale.ROOT);
    if (!isToken(m)) throw new ConfigException("--method is not a valid method: " + method);
    if (m.equals("CONNECT"))
      throw new ConfigException("--method CONNECT is not supported: " + method);
    List<Map.Entry<String, String>> hs = new ArrayList<>();
    for (String h : headers) hs.add(header(h));
    return new LoadSpec(target, m, hs, body(), connections, r, d, n, t, threads);
  }

  private static Map.Entry<String, String> header(String text) {
    int colon = text.indexOf(':');
    String name = colon > 0 ? text.substring(0, colon).trim() : "";
    if (!isToken(name)) {
      throw new ConfigException("--header must be 'Name: value': " + text);
    }
    String value = text.substring(colon + 1).trim();
    if (value.chars().anyMatch(c -> (c < 0x20 && c != '\t') || c == 0x7f)) {
      throw new ConfigException("--header value has control characters: " + text);
    }
    String lower = name.toLowerCase(Locale.ROOT);
    if (lower.equals("content-length") || lower.equals("transfer-encoding")) {
      throw new ConfigException("--header " + name + " is set from --body: " + text);
    }
    return new AbstractMap.SimpleImmutableEntry<>(name, value);
  }

  private byte[] body() {
    if (body != null && bodyFile != null) {
      throw new ConfigException("--body and --body-file exclude each other: " + bodyFile);
    }
    if (body != null) return body.getBytes(StandardCharsets.UTF_8);
    if (bodyFile == null) return new byte[0];
    try {
      return Files.readAllBytes(bodyFile);
    } catch (IOException e) {
      throw new ConfigException("--body-file cannot be read: " + bodyFile);
    }
  }

  private static Duration duration(String option, String value) {
    try {
      return Durations.parse(value);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(option + ": " + e.getMessage());
    }
  }

  private static boolean isToken(String s) {
    if (s.isEmpty()) return false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!ok) return false;
    }
    return true;
  }

  /** Whether stderr is a terminal (Linux: fd 2 links to a tty); false when unsure. */
  private static boolean stderrIsTerminal() {
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return false;
    }
  }

  private static boolean addShutdownHook(Thread hook) {
    try {
      Runtime.getRuntime().addShutdownHook(hook);
      return true;
    } catch (IllegalStateException e) {
      return false; // already shutting down
    }
  }

  private static void removeShutdownHook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // shutting down: the hook is running and sees `reported`
    }
  }
}
