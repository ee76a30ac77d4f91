package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.cli.DemoProcess.Client;
import dev.lull.cli.DemoProcess.Output;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The demo's cancellation routes, in a real child process: a client leaving {@code /exec/sleep}
 * kills the shell and its sleep (a grandchild of the server); {@code /deadline} answers 504 when
 * its work outlasts the route's 1s timeout; {@code /compute} checks its context between steps.
 */
class DemoCancellationProcessTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Pattern PORT = Pattern.compile("listening: \\S+ on 127\\.0\\.0\\.1:(\\d+)");

  private Process demo;
  private Output output;
  private int port;
  private final List<Long> pids = new ArrayList<>();

  @BeforeEach
  void startDemo() throws Exception {
    demo =
        new ProcessBuilder(DemoProcess.command("--listen", "127.0.0.1:0", "--idle-timeout", "0"))
            .redirectErrorStream(true)
            .start();
    output = new Output(demo.getInputStream());
    assertThat(output.await("listening: ", 1, WAIT)).as("demo listens").isTrue();
    Matcher m =
        output.lines().stream()
            .map(PORT::matcher)
            .filter(Matcher::find)
            .findFirst()
            .orElseThrow(() -> new AssertionError("no port in " + output.lines()));
    port = Integer.parseInt(m.group(1));
  }

  @AfterEach
  void stopDemo() throws InterruptedException {
    for (long pid : pids) ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    demo.destroy();
    if (!demo.waitFor(20, TimeUnit.SECONDS)) demo.destroyForcibly().waitFor();
  }

  private static Path proc(long pid) {
    return Path.of("/proc/" + pid);
  }

  /** Polls {@code condition} (the process table announces nothing) every 5 ms, bounded. */
  private static void until(Duration deadline, String what, BooleanSupplier condition) {
    long end = System.nanoTime() + deadline.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - end > 0)
        throw new AssertionError("not within " + deadline + ": " + what);
      LockSupport.parkNanos(5_000_000);
    }
  }

  /** The demo's descendants running {@code name}. */
  private List<ProcessHandle> descendants(String name) {
    return demo.toHandle()
        .descendants()
        .filter(h -> h.info().command().map(c -> c.endsWith("/" + name)).orElse(false))
        .toList();
  }

  @Test
  void aClientLeavingExecSleepLeavesNoProcessBehind() throws Exception {
    Client client = Client.tcp(port).get("/exec/sleep?seconds=30");
    // No event says the shell has started its sleep: look, bounded.
    until(WAIT, "sleep started", () -> !descendants("sleep").isEmpty());
    ProcessHandle sleep = descendants("sleep").get(0);
    ProcessHandle sh = sleep.parent().orElseThrow();
    assertThat(sh.info().command()).hasValueSatisfying(c -> assertThat(c).endsWith("sh"));
    assertThat(sh.parent().map(ProcessHandle::pid)).contains(demo.pid()); // sleep: a grandchild
    pids.addAll(List.of(sh.pid(), sleep.pid()));

    client.close();

    for (ProcessHandle h : List.of(sleep, sh)) {
      h.onExit().get(10, TimeUnit.SECONDS);
      long pid = h.pid();
      // Reaped, not a zombie.
      until(Duration.ofSeconds(10), "pid " + pid + " reaped", () -> !Files.exists(proc(pid)));
    }
    assertThat(descendants("sleep")).isEmpty();
    assertThat(output.lines()).noneMatch(l -> l.contains("Exception") || l.startsWith("\tat "));
  }

  @Test
  void theDeadlineRouteAnswers504WhenItsWorkTakesLonger() throws Exception {
    String late = DemoProcess.get(new InetSocketAddress("127.0.0.1", port), "/deadline?after=30s");
    assertThat(late).startsWith("HTTP/1.1 504 ").endsWith("\r\n\r\nrequest deadline exceeded\n");
    String soon = DemoProcess.get(new InetSocketAddress("127.0.0.1", port), "/deadline?after=1ms");
    assertThat(soon).startsWith("HTTP/1.1 200 ").endsWith("\r\n\r\ndone after 1ms\n");
  }

  @Test
  void computeRunsItsSteps() throws Exception {
    String r =
        DemoProcess.get(new InetSocketAddress("127.0.0.1", port), "/compute?steps=3&step=1ms");
    assertThat(r).startsWith("HTTP/1.1 200 ").contains("computed 3 steps");
    String bad = DemoProcess.get(new InetSocketAddress("127.0.0.1", port), "/compute?steps=x");
    assertThat(bad).startsWith("HTTP/1.1 400 ");
  }
}
