package dev.lull.cli;

import java.lang.management.ManagementFactory;

/**
 * The main class of the small jars {@link LauncherAotTest} hands to the {@code lull} launcher: it
 * prints the JVM flags it was started with (so the test sees whether an AOT cache was given), and
 * for {@code train} (the launcher's training run) exits 0 at once.
 */
public final class AotProbe {
  private AotProbe() {}

  public static void main(String[] args) {
    System.out.println(
        "probe args="
            + String.join(" ", args)
            + " jvm="
            + ManagementFactory.getRuntimeMXBean().getInputArguments());
  }
}
