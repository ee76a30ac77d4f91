package dev.lull.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Run in a child JVM by {@link SocketActivationTest}: prints what a process and its children see.
 */
final class EnvironmentProbe {
  private EnvironmentProbe() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    SocketActivation.inherited();
    SocketActivation.Removal removal = SocketActivation.removeEnvironment();
    System.out.println(
        "removal javaView="
            + removal.javaView()
            + " nativeEnvironment="
            + removal.nativeEnvironment());
    System.out.println(
        "getenv LISTEN_FDS="
            + System.getenv("LISTEN_FDS")
            + " LISTEN_FDNAMES="
            + System.getenv("LISTEN_FDNAMES")
            + " NOTIFY_SOCKET="
            + System.getenv("NOTIFY_SOCKET"));
    String show =
        "echo LISTEN_FDS=${LISTEN_FDS-unset} LISTEN_PID=${LISTEN_PID-unset}"
            + " LISTEN_FDNAMES=${LISTEN_FDNAMES-unset}";
    System.out.println("untouched " + run(new ProcessBuilder("sh", "-c", show)));
    ProcessBuilder copied = new ProcessBuilder("sh", "-c", show);
    copied.environment().put("TOUCHED", "1");
    System.out.println("copied " + run(copied));
    ProcessBuilder stripped =
        SocketActivation.stripEnvironment(
            new ProcessBuilder("sh", "-c", "echo NOTIFY_SOCKET=${NOTIFY_SOCKET-unset}"));
    System.out.println("stripped " + run(stripped));
  }

  private static String run(ProcessBuilder pb) throws IOException, InterruptedException {
    Process p = pb.redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    p.waitFor();
    return out;
  }
}
