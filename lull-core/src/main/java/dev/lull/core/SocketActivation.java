package dev.lull.core;

import java.lang.invoke.MethodHandle;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The sockets systemd passed to this process (socket activation), read from {@code LISTEN_FDS},
 * {@code LISTEN_PID} and {@code LISTEN_FDNAMES} the way {@code sd_listen_fds_with_names(3)} reads
 * them:
 *
 * <ul>
 *   <li>no {@code LISTEN_PID}, or a {@code LISTEN_PID} that is not this process: no sockets (they
 *       are meant for another process, typically our parent);
 *   <li>no {@code LISTEN_FDS}: no sockets; otherwise it must be a decimal number from 1 up, and the
 *       sockets are fds {@value #FIRST_FD} to {@code 3 + LISTEN_FDS - 1};
 *   <li>{@code LISTEN_FDNAMES}, when set, holds one name per fd separated by colons; a count that
 *       differs from {@code LISTEN_FDS} is an error, as in systemd.
 * </ul>
 *
 * <p>Where Lull departs from libsystemd, on purpose: a missing {@code LISTEN_FDNAMES} (or an empty
 * name in it) names the fd {@code LISTEN_FD_<fd>}, for example {@code LISTEN_FD_3}, as go-systemd's
 * {@code activation.Files} does, where libsystemd says {@code unknown}; numbers are decimal only
 * (libsystemd also takes {@code 0x} and octal forms); and {@code LISTEN_PIDFDID} (systemd 256+) is
 * checked to be a number but not compared with this process's pidfd inode, which the JDK cannot
 * read — libsystemd skips that comparison too on kernels without pidfd inode ids.
 *
 * <p>Parsing is a pure function of the environment and the process id ({@link #parse(Map, long)}),
 * so it is tested without a child process. {@link #inherited()} applies it once per process to the
 * real environment and then {@linkplain #removeEnvironment() removes} the variables, as {@code
 * sd_listen_fds(1)} does, so child processes do not see them; later calls return the same result,
 * so several servers in one process can each adopt their own named sockets.
 */
public final class SocketActivation {
  /** The first inherited fd, {@code SD_LISTEN_FDS_START}. */
  public static final int FIRST_FD = 3;

  /**
   * The variables {@link #removeEnvironment()} removes from this process, as {@code
   * sd_listen_fds(1)} does.
   */
  public static final List<String> LISTEN_VARIABLES =
      List.of("LISTEN_PID", "LISTEN_PIDFDID", "LISTEN_FDS", "LISTEN_FDNAMES");

  /**
   * The variables {@link #stripEnvironment(Map)} removes for a child process: the socket-activation
   * ones, and the notification and watchdog ones, which address this process's service manager and
   * must not be used by a child on our behalf.
   */
  public static final List<String> CHILD_VARIABLES =
      List.of(
          "LISTEN_PID",
          "LISTEN_PIDFDID",
          "LISTEN_FDS",
          "LISTEN_FDNAMES",
          "NOTIFY_SOCKET",
          "WATCHDOG_PID",
          "WATCHDOG_USEC");

  /**
   * One socket passed by systemd.
   *
   * @param fd the file descriptor number, from {@value SocketActivation#FIRST_FD} up
   * @param name its name from {@code LISTEN_FDNAMES} (systemd's {@code FileDescriptorName=}), or
   *     {@code LISTEN_FD_<fd>} when there is none
   */
  public record ListenFd(int fd, String name) {
    public ListenFd {
      if (fd < FIRST_FD) throw new IllegalArgumentException("fd < " + FIRST_FD + ": " + fd);
      Objects.requireNonNull(name, "name");
    }

    @Override
    public String toString() {
      return "fd " + fd + " (" + name + ")";
    }
  }

  /**
   * What {@link #removeEnvironment()} managed to remove.
   *
   * @param javaView whether {@link System#getenv()} and the copies {@link
   *     ProcessBuilder#environment()} starts from no longer hold the variables; this needs {@code
   *     --add-opens java.base/java.lang=ALL-UNNAMED} (the {@code lull} jar's manifest has it)
   * @param nativeEnvironment whether the C environment, which a {@link ProcessBuilder} whose
   *     environment was never touched passes to its child as is, no longer holds them; this needs
   *     JDK 22+ and native access enabled ({@code --enable-native-access=ALL-UNNAMED})
   */
  public record Removal(boolean javaView, boolean nativeEnvironment) {
    /** Whether no child process started from now on can inherit the variables. */
    public boolean complete() {
      return javaView && nativeEnvironment;
    }
  }

  private static final Object LOCK = new Object();
  private static SocketActivation inherited;
  private static IllegalArgumentException inheritedFailure;

  private final List<ListenFd> fds;
  private final String absence;

  private SocketActivation(List<ListenFd> fds, String absence) {
    this.fds = List.copyOf(fds);
    this.absence = absence;
  }

  /**
   * Reads the sockets passed to the process {@code pid} from {@code env}, as described above.
   *
   * @throws IllegalArgumentException naming the variable and its value when {@code LISTEN_PID},
   *     {@code LISTEN_PIDFDID}, {@code LISTEN_FDS} or {@code LISTEN_FDNAMES} is malformed (only
   *     when {@code LISTEN_PID} is this process's, as libsystemd looks no further otherwise)
   */
  public static SocketActivation parse(Map<String, String> env, long pid) {
    Objects.requireNonNull(env, "env");
    String pidText = env.get("LISTEN_PID");
    if (pidText == null) return none("LISTEN_PID is not set");
    long listenPid = parseDecimal("LISTEN_PID", pidText);
    if (listenPid <= 0 || listenPid > Integer.MAX_VALUE) {
      throw bad("LISTEN_PID", pidText, "not a process id");
    }
    if (listenPid != pid) {
      return none("LISTEN_PID=" + pidText + " is not this process (pid " + pid + ")");
    }
    String pidFdId = env.get("LISTEN_PIDFDID");
    if (pidFdId != null) parseDecimal("LISTEN_PIDFDID", pidFdId);
    String countText = env.get("LISTEN_FDS");
    if (countText == null) return none("LISTEN_FDS is not set");
    long count = parseDecimal("LISTEN_FDS", countText);
    if (count <= 0 || count > Integer.MAX_VALUE - FIRST_FD) {
      throw bad("LISTEN_FDS", countText, "not a number of sockets from 1 up");
    }
    String namesText = env.get("LISTEN_FDNAMES");
    List<String> names = namesText == null ? null : splitNames(namesText);
    if (names != null && names.size() != count) {
      throw bad(
          "LISTEN_FDNAMES",
          namesText,
          names.size() + " names for LISTEN_FDS=" + countText + " sockets");
    }
    List<ListenFd> fds = new ArrayList<>((int) count);
    for (int i = 0; i < count; i++) {
      int fd = FIRST_FD + i;
      String name = names == null || names.get(i).isEmpty() ? "LISTEN_FD_" + fd : names.get(i);
      fds.add(new ListenFd(fd, name));
    }
    return new SocketActivation(fds, null);
  }

  /**
   * The sockets systemd passed to this process. The first call parses the real environment with
   * this process's id and then removes the {@code LISTEN_*} variables (also when they were
   * malformed), from the C environment in the background ({@link #removeEnvironmentSoon(List)});
   * every later call returns the same result.
   *
   * @throws IllegalArgumentException when the variables are malformed, on every call
   */
  public static SocketActivation inherited() {
    synchronized (LOCK) {
      if (inherited == null && inheritedFailure == null) {
        try {
          inherited = parse(System.getenv(), ProcessHandle.current().pid());
        } catch (IllegalArgumentException e) {
          inheritedFailure = e;
        } finally {
          removeEnvironmentSoon(LISTEN_VARIABLES);
        }
      }
      if (inheritedFailure != null) {
        throw new IllegalArgumentException(inheritedFailure.getMessage(), inheritedFailure);
      }
      return inherited;
    }
  }

  /** The sockets, in fd order; empty when none were passed to this process. */
  public List<ListenFd> fds() {
    return fds;
  }

  /** The sockets named {@code name}, in fd order (systemd lets several sockets share a name). */
  public List<ListenFd> named(String name) {
    return fds.stream().filter(f -> f.name().equals(name)).toList();
  }

  /** The distinct names, in fd order. */
  public List<String> names() {
    return fds.stream().map(ListenFd::name).distinct().toList();
  }

  /**
   * Why there are no sockets, for error messages, for example {@code LISTEN_FDS is not set} or
   * {@code LISTEN_PID=12 is not this process (pid 34)}; empty when there are sockets.
   */
  public Optional<String> absence() {
    return Optional.ofNullable(absence);
  }

  @Override
  public String toString() {
    return fds.isEmpty() ? "no sockets (" + absence + ")" : fds.toString();
  }

  /**
   * Removes {@link #LISTEN_VARIABLES} from this process's environment, as far as the JVM allows, so
   * that child processes do not inherit them. Java has no {@code unsetenv}: the JVM keeps a copy of
   * the environment that {@link System#getenv()} reads and {@link ProcessBuilder#environment()}
   * copies, while a {@link ProcessBuilder} whose environment is never touched hands the C
   * environment to its child. This method clears the first by reflection when {@code java.lang} is
   * open to Lull, and the second with {@code unsetenv(3)} through the foreign-function API when the
   * JDK is 22 or newer and native access is enabled. Whatever it cannot clear, {@link
   * #stripEnvironment(Map)} removes from the environment of a child Lull starts. The fds themselves
   * are not inherited by children: the JDK closes every fd above 2 in a child process.
   *
   * <p>Not safe against threads reading the environment at the same moment; call it at startup, as
   * {@link #inherited()} does.
   */
  public static Removal removeEnvironment() {
    return removeEnvironment(LISTEN_VARIABLES);
  }

  /**
   * Removes the variables {@code names} from this process's environment as {@link
   * #removeEnvironment()} does, with the same limits; the notification socket reader uses it for
   * {@code NOTIFY_SOCKET}, {@code WATCHDOG_USEC} and {@code WATCHDOG_PID}, as {@code sd_notify(3)}
   * and {@code sd_watchdog_enabled(3)} do when asked to unset the environment.
   */
  public static Removal removeEnvironment(List<String> names) {
    List<String> copy = List.copyOf(names);
    boolean javaView = removeFromJavaView(copy);
    synchronized (NATIVE_LOCK) {
      return new Removal(javaView, removeFromNativeEnvironment(copy));
    }
  }

  /**
   * Removes {@code names} as {@link #removeEnvironment(List)} does, but from the C environment on a
   * background thread: the first use of the foreign-function API spins a few hundred method-handle
   * classes that no AOT cache keeps (50-300 ms here), which would otherwise sit between a
   * socket-activated start and its first response (docs/STARTUP.md). Until that thread has run, a
   * child started with an untouched environment may still see the variables, as on a JDK without
   * the API; they are harmless to it ({@code LISTEN_PID} names this process, and the JDK closes the
   * fds in a child), and {@link #stripEnvironment(Map)} removes them from a copied environment.
   *
   * @return whether the JVM's own view was cleared (see {@link Removal#javaView()})
   */
  public static boolean removeEnvironmentSoon(List<String> names) {
    List<String> copy = List.copyOf(names);
    boolean javaView = removeFromJavaView(copy);
    Thread.ofPlatform()
        .name("lull-unsetenv")
        .daemon(true)
        .start(
            () -> {
              boolean nativeEnvironment;
              synchronized (NATIVE_LOCK) {
                nativeEnvironment = removeFromNativeEnvironment(copy);
              }
              System.getLogger("dev.lull.core")
                  .log(
                      System.Logger.Level.DEBUG,
                      "{0} removed from the JVM''s environment: {1}, from the C environment: {2}",
                      copy,
                      javaView,
                      nativeEnvironment);
            });
    return javaView;
  }

  private static final Object NATIVE_LOCK = new Object();

  /**
   * Removes {@link #CHILD_VARIABLES} from the environment of a child process, for example {@code
   * stripEnvironment(processBuilder.environment())}.
   *
   * @return {@code env}
   */
  public static Map<String, String> stripEnvironment(Map<String, String> env) {
    env.keySet().removeAll(CHILD_VARIABLES);
    return env;
  }

  /** Same as {@code stripEnvironment(builder.environment())}; returns {@code builder}. */
  public static ProcessBuilder stripEnvironment(ProcessBuilder builder) {
    stripEnvironment(builder.environment());
    return builder;
  }

  private static SocketActivation none(String absence) {
    return new SocketActivation(List.of(), absence);
  }

  /** {@code LISTEN_FDNAMES} split on colons, keeping empty names; empty text has no names. */
  private static List<String> splitNames(String text) {
    if (text.isEmpty()) return List.of();
    return List.of(text.split(":", -1));
  }

  /** A decimal number without sign; Long.MAX_VALUE when it overflows. */
  private static long parseDecimal(String variable, String text) {
    if (text.isEmpty() || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw bad(variable, text, "not a decimal number");
    }
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      return Long.MAX_VALUE;
    }
  }

  private static IllegalArgumentException bad(String variable, String value, String why) {
    return new IllegalArgumentException(
        "invalid " + variable + "=\"" + value + "\" from systemd: " + why);
  }

  /** Removes {@code names} from the JVM's copy of the environment, if java.lang is open to us. */
  private static boolean removeFromJavaView(List<String> names) {
    Module javaBase = Object.class.getModule();
    if (!javaBase.isOpen("java.lang", SocketActivation.class.getModule())) return false;
    try {
      Field f = Class.forName("java.lang.ProcessEnvironment").getDeclaredField("theEnvironment");
      f.setAccessible(true);
      // Keys are ProcessEnvironment.Variable, whose toString() is the name. System.getenv() is a
      // read-only view of this same map, ProcessBuilder.environment() starts from a copy of it.
      Map<?, ?> env = (Map<?, ?>) f.get(null);
      Set<String> drop = Set.copyOf(names);
      env.keySet().removeIf(k -> drop.contains(String.valueOf(k)));
      return true;
    } catch (ReflectiveOperationException | RuntimeException e) {
      // The JDK's internals changed: keep the variables rather than fail the start.
      return false;
    }
  }

  /**
   * Calls {@code unsetenv(3)} for each name through {@code java.lang.foreign}, reflectively so that
   * this class still compiles for Java 21 (where that API is a preview). JDK 22+ only, and only
   * when native access is enabled for us, so that no warning is printed.
   */
  private static boolean removeFromNativeEnvironment(List<String> names) {
    if (Runtime.version().feature() < 22) return false;
    try {
      Method nativeAccess = Module.class.getMethod("isNativeAccessEnabled");
      if (!(boolean) nativeAccess.invoke(SocketActivation.class.getModule())) return false;
      Class<?> linkerClass = Class.forName("java.lang.foreign.Linker");
      Class<?> optionClass = Class.forName("java.lang.foreign.Linker$Option");
      Class<?> lookupClass = Class.forName("java.lang.foreign.SymbolLookup");
      Class<?> segmentClass = Class.forName("java.lang.foreign.MemorySegment");
      Class<?> descriptorClass = Class.forName("java.lang.foreign.FunctionDescriptor");
      Class<?> layoutClass = Class.forName("java.lang.foreign.MemoryLayout");
      Class<?> valueLayoutClass = Class.forName("java.lang.foreign.ValueLayout");
      Class<?> arenaClass = Class.forName("java.lang.foreign.Arena");
      Class<?> allocatorClass = Class.forName("java.lang.foreign.SegmentAllocator");

      Object linker = linkerClass.getMethod("nativeLinker").invoke(null);
      Object lookup = linkerClass.getMethod("defaultLookup").invoke(linker);
      Optional<?> unsetenv =
          (Optional<?>) lookupClass.getMethod("find", String.class).invoke(lookup, "unsetenv");
      if (unsetenv.isEmpty()) return false;
      Object args = Array.newInstance(layoutClass, 1);
      Array.set(args, 0, valueLayoutClass.getField("ADDRESS").get(null));
      Object descriptor =
          descriptorClass
              .getMethod("of", layoutClass, args.getClass())
              .invoke(null, valueLayoutClass.getField("JAVA_INT").get(null), args);
      Object noOptions = Array.newInstance(optionClass, 0);
      MethodHandle call =
          (MethodHandle)
              linkerClass
                  .getMethod("downcallHandle", segmentClass, descriptorClass, noOptions.getClass())
                  .invoke(linker, unsetenv.get(), descriptor, noOptions);
      Method allocate = allocatorClass.getMethod("allocateFrom", String.class);
      try (AutoCloseable arena = (AutoCloseable) arenaClass.getMethod("ofConfined").invoke(null)) {
        boolean ok = true;
        for (String name : names) {
          Object cName = allocate.invoke(arena, name);
          ok &= (int) call.invokeWithArguments(cName) == 0;
        }
        return ok;
      }
    } catch (Throwable e) {
      if (e instanceof Error err && !(e instanceof LinkageError)) throw err;
      return false;
    }
  }
}
