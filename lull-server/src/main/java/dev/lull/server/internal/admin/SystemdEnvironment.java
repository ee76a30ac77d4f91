package dev.lull.server.internal.admin;

import dev.lull.core.SocketActivation;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the service manager told this process through its environment: where to send notifications
 * ({@code NOTIFY_SOCKET}) and how often to ping the watchdog ({@code WATCHDOG_USEC}, for the
 * process {@code WATCHDOG_PID} when set).
 *
 * @param notifySocket the value of {@code NOTIFY_SOCKET}, if set and not empty
 * @param watchdog the watchdog timeout, if {@code WATCHDOG_USEC} is a positive number and {@code
 *     WATCHDOG_PID} is unset or this process's id; pings are due every half of it
 * @param problems what was wrong with the variables (ignored, then), for one log line each
 */
public record SystemdEnvironment(
    Optional<String> notifySocket, Optional<Duration> watchdog, List<String> problems) {

  /** The variables read, and removed from the environment after reading. */
  public static final List<String> VARIABLES =
      List.of("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID");

  private static final Object LOCK = new Object();
  private static SystemdEnvironment inherited;
  private static boolean claimed;

  /** Nothing from a service manager. */
  public static final SystemdEnvironment NONE =
      new SystemdEnvironment(Optional.empty(), Optional.empty(), List.of());

  public SystemdEnvironment {
    problems = List.copyOf(problems);
  }

  /**
   * Reads the variables from {@code env} for the process {@code pid}, as {@code sd_notify(3)} and
   * {@code sd_watchdog_enabled(3)} do. Pure: for tests.
   */
  public static SystemdEnvironment parse(Map<String, String> env, long pid) {
    List<String> problems = new ArrayList<>();
    String socket = env.get("NOTIFY_SOCKET");
    Optional<String> notify =
        socket == null || socket.isEmpty() ? Optional.empty() : Optional.of(socket);
    Optional<Duration> watchdog = Optional.empty();
    String usec = env.get("WATCHDOG_USEC");
    if (usec != null) {
      String wpid = env.get("WATCHDOG_PID");
      long micros = parsePositive(usec);
      if (micros <= 0) {
        problems.add("WATCHDOG_USEC=\"" + usec + "\" is not a positive number: no watchdog");
      } else if (wpid != null && !wpid.isEmpty() && parsePositive(wpid) != pid) {
        // The watchdog is meant for another process (a parent that exec'd us keeps it).
        problems.add(
            "WATCHDOG_PID=" + wpid + " is not this process (pid " + pid + "): no watchdog");
      } else {
        watchdog = Optional.of(Duration.of(micros, ChronoUnit.MICROS));
      }
    }
    return new SystemdEnvironment(notify, watchdog, problems);
  }

  /**
   * Reads this process's environment once and removes the variables from it (as far as {@link
   * SocketActivation#removeEnvironmentSoon(List)} can, the C environment in the background), so
   * that child processes do not ping our service manager; every later call returns the same result.
   */
  public static SystemdEnvironment inherited() {
    synchronized (LOCK) {
      if (inherited == null) {
        inherited = parse(System.getenv(), ProcessHandle.current().pid());
        SocketActivation.removeEnvironmentSoon(VARIABLES);
      }
      return inherited;
    }
  }

  /**
   * {@link #inherited()} for the first caller in this process, {@link #NONE} for every later one:
   * one process has one conversation with its service manager, so a second server in the same JVM
   * (a test, an embedded admin tool) must not also say READY=1 and STOPPING=1.
   */
  public static SystemdEnvironment claim() {
    synchronized (LOCK) {
      SystemdEnvironment env = inherited();
      if (claimed) return NONE;
      claimed = true;
      return env;
    }
  }

  /** A decimal number without sign, or -1. */
  private static long parsePositive(String s) {
    if (s.isEmpty() || !s.chars().allMatch(c -> c >= '0' && c <= '9')) return -1;
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
