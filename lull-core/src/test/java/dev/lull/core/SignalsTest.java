package dev.lull.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real child processes: signals and exit codes are about processes. */
class SignalsTest {
  private static final long DEADLINE_SECONDS = 60;

  @TempDir Path tmp;
  private Process child;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private final List<String> seen = new ArrayList<>();

  @AfterEach
  void killChild() throws Exception {
    if (child != null && child.isAlive()) {
      child.destroyForcibly();
      child.waitFor(DEADLINE_SECONDS, TimeUnit.SECONDS);
    }
  }

  private void startChild(String... args) throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    String classpath =
        Path.of(Lifecycle.class.getProtectionDomain().getCodeSource().getLocation().toURI())
            + File.pathSeparator
            + Path.of(
                SignalsChild.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    List<String> command = new ArrayList<>(List.of(java, "-cp", classpath));
    command.add(SignalsChild.class.getName());
    command.addAll(List.of(args));
    child =
        new ProcessBuilder(command)
            .redirectError(tmp.resolve("stderr.txt").toFile())
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .start();
    Thread.ofPlatform()
        .daemon()
        .start(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) lines.add(line);
              } catch (Exception ignored) {
                // the child is gone
              }
            });
  }

  /** Reads lines until {@code expected}, failing after the deadline with what the child said. */
  private void awaitLine(String expected) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_SECONDS);
    while (System.nanoTime() < end) {
      String line = lines.poll(end - System.nanoTime(), TimeUnit.NANOSECONDS);
      if (line == null) break;
      seen.add(line);
      if (line.equals(expected)) return;
    }
    throw new AssertionError(
        "child never said \""
            + expected
            + "\"; it said "
            + seen
            + (child.isAlive() ? "; still running" : "; exited with " + child.exitValue())
            + "; stderr:\n"
            + Files.readString(tmp.resolve("stderr.txt")));
  }

  private int exitCode() throws Exception {
    assertThat(child.waitFor(DEADLINE_SECONDS, TimeUnit.SECONDS)).as("child exited").isTrue();
    return child.exitValue();
  }

  private void signal(String name) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(child.pid())).start();
    assertThat(kill.waitFor(DEADLINE_SECONDS, TimeUnit.SECONDS)).isTrue();
    assertThat(kill.exitValue()).isZero();
  }

  @Test
  void sigtermStopsGracefullyAndTheProcessExitsZeroNot143() throws Exception {
    startChild();
    awaitLine("ready");

    signal("TERM"); // not Process.destroy(): it closes our end of the child's output

    awaitLine("terminated signal graceful=true cancelled=0");
    assertThat(exitCode()).isZero();
    assertThat(seen)
        .containsSubsequence(
            "step start",
            "phase STARTING->RUNNING",
            "phase RUNNING->DRAINING signal",
            "step stopAccepting",
            "step enterLameDuck",
            "phase DRAINING->STOPPING signal",
            "step forceClose",
            "step release",
            "phase STOPPING->TERMINATED signal",
            "terminated signal graceful=true cancelled=0");
  }

  @Test
  void aSecondSignalDuringTheDrainStopsAtOnce() throws Exception {
    startChild("hold");
    awaitLine("ready");

    signal("INT");
    awaitLine("step enterLameDuck"); // draining, waiting forever for the held work
    signal("TERM");

    awaitLine("terminated signal graceful=false cancelled=1");
    assertThat(exitCode()).isZero();
    assertThat(seen)
        .containsSubsequence(
            "phase RUNNING->DRAINING signal",
            "step stopAccepting",
            "step enterLameDuck",
            "phase DRAINING->STOPPING signal",
            "step cancelInFlight",
            "step forceClose",
            "step release",
            "phase STOPPING->TERMINATED signal");
  }
}
