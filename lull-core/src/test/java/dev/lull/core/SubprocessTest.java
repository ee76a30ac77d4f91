package dev.lull.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SubprocessTest {
  private final Context root = Context.root(Ticker.system(), SystemScheduler.INSTANCE);

  /** A scheduler on a daemon thread, enough for these tests. */
  enum SystemScheduler implements Scheduler {
    INSTANCE;
    private final java.util.concurrent.ScheduledExecutorService exec =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "test-scheduler");
              t.setDaemon(true);
              return t;
            });

    @Override
    public Cancellable schedule(Runnable task, Duration delay) {
      var f = exec.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
      return () -> f.cancel(false);
    }
  }

  @Test
  void cancellationKillsTheProcessAndItsGrandchildren() throws Exception {
    Context ctx = root.child();
    // sh starts a background sleep (a grandchild through the shell) and a foreground one, then
    // prints both pids so the test can check them after the kill.
    Process p =
        Subprocess.start(
            new ProcessBuilder("sh", "-c", "sleep 30 & echo $!; sleep 30 & echo $!; wait"),
            ctx,
            Duration.ofSeconds(2));
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    long a = Long.parseLong(out.readLine().trim());
    long b = Long.parseLong(out.readLine().trim());
    ProcessHandle ha = ProcessHandle.of(a).orElseThrow();
    ProcessHandle hb = ProcessHandle.of(b).orElseThrow();

    ctx.cancel(CancellationCause.CLIENT_DISCONNECTED);

    assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
    ha.onExit().get(5, TimeUnit.SECONDS);
    hb.onExit().get(5, TimeUnit.SECONDS);
    assertThat(ha.isAlive()).isFalse();
    assertThat(hb.isAlive()).isFalse();
    // Reading the output does not block once the tree is gone.
    assertThat(out.readLine()).isNull();
  }

  @Test
  void processIgnoringSigtermIsKilledAfterGrace() throws Exception {
    Context ctx = root.child();
    Process p =
        Subprocess.start(
            new ProcessBuilder("sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"),
            ctx,
            Duration.ofMillis(300));
    new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))
        .readLine();
    long start = System.nanoTime();
    ctx.cancel(CancellationCause.DEADLINE_EXCEEDED);
    assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(250));
  }

  @Test
  void cancelledContextStartsNothing() {
    Context ctx = root.child();
    ctx.cancel(CancellationCause.CANCELLED);
    assertThatThrownBy(() -> Subprocess.start(ctx, "true")).isInstanceOf(CancelledException.class);
  }

  @Test
  void childDoesNotSeeSystemdVariables() throws Exception {
    ProcessBuilder pb = new ProcessBuilder("env");
    pb.environment()
        .putAll(Map.of("LISTEN_FDS", "2", "LISTEN_PID", "1", "NOTIFY_SOCKET", "/x", "KEEP", "1"));
    Process p = Subprocess.start(pb, root.child(), Duration.ofSeconds(1));
    List<String> lines =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))
            .lines()
            .toList();
    assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
    assertThat(lines).contains("KEEP=1");
    assertThat(lines).noneMatch(l -> l.startsWith("LISTEN_") || l.startsWith("NOTIFY_SOCKET"));
  }

  @Test
  void argumentsArePassedLiterallyNeverThroughAShell(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path marker = dir.resolve("x");
    String hostile =
        "a; touch " + marker + " $(touch " + marker + ") `touch " + marker + "` | true";
    Process p = Subprocess.start(Context.background(), "/bin/echo", hostile);
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(out).isEqualTo(hostile + "\n");
    assertThat(marker).doesNotExist();
    // A fixed script that takes request data as a positional parameter ("$1") does not evaluate
    // it either: what the demo's /exec/sleep does.
    Process sh =
        Subprocess.start(Context.background(), "sh", "-c", "printf '%s' \"$1\"", "sh", hostile);
    String shOut = new String(sh.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(sh.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(shOut).isEqualTo(hostile);
    assertThat(marker).doesNotExist();
  }
}
