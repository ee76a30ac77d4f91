package dev.lull.core;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Stops a {@link Lifecycle} on SIGTERM and SIGINT: the first signal starts a graceful stop ({@link
 * Lifecycle#stop(StopReason) stop(SIGNAL)}), the second — either signal — stops at once ({@link
 * Lifecycle#stopNow(StopReason) stopNow(SIGNAL)}). SIGQUIT stays the JVM's thread dump; SIGHUP is
 * left alone.
 *
 * <h2>Exit code 0, not 143</h2>
 *
 * Once these handlers are installed the JVM no longer starts its shutdown on SIGTERM; nothing exits
 * by itself. The program's main thread waits for the lifecycle and exits with its code:
 *
 * <pre>{@code
 * Signals.install(lifecycle);
 * lifecycle.start();
 * System.exit(lifecycle.awaitTermination().exitCode()); // 0 after a stop by signal, idle or API
 * }</pre>
 *
 * <p>Shutdown hooks still run inside {@code System.exit}, after the drain. Without these handlers,
 * SIGTERM makes the JVM run its shutdown hooks and exit with 143 (128 + 15), which systemd records
 * as a failure unless the unit says {@code SuccessExitStatus=143}.
 *
 * <p>Uses {@code sun.misc.Signal} from the {@code jdk.unsupported} module, which every JDK ships
 * and which needs no flag. A JVM started with {@code -Xrs} refuses the handlers: {@link
 * #install(Lifecycle)} then logs it and installs what it can.
 */
public final class Signals {
  private static final System.Logger LOG = System.getLogger("dev.lull.lifecycle");

  private Signals() {}

  /**
   * Installs the SIGTERM and SIGINT handlers for {@code lifecycle}, replacing the JVM's.
   *
   * @return a handle whose {@link Installation#close()} puts back the handlers found
   */
  public static Installation install(Lifecycle lifecycle) {
    if (lifecycle == null) throw new NullPointerException("lifecycle == null");
    AtomicInteger received = new AtomicInteger();
    SignalHandler handler =
        signal -> {
          String name = "SIG" + signal.getName();
          if (received.incrementAndGet() == 1) {
            LOG.log(
                System.Logger.Level.INFO,
                "{0}: stopping gracefully (send it again to stop at once)",
                name);
            lifecycle.stop(StopReason.SIGNAL);
          } else {
            LOG.log(System.Logger.Level.WARNING, "{0} again: stopping at once", name);
            lifecycle.stopNow(StopReason.SIGNAL);
          }
        };
    List<Runnable> restore = new ArrayList<>();
    for (String name : List.of("TERM", "INT")) {
      try {
        Signal signal = new Signal(name);
        SignalHandler previous = Signal.handle(signal, handler);
        restore.add(() -> Signal.handle(signal, previous));
      } catch (IllegalArgumentException e) {
        LOG.log(
            System.Logger.Level.WARNING,
            "cannot handle SIG{0} ({1}): it will not stop the server gracefully",
            name,
            e.getMessage());
      }
    }
    return () -> {
      for (Runnable r : restore) r.run();
    };
  }

  /** Installed signal handlers. */
  @FunctionalInterface
  public interface Installation extends AutoCloseable {
    /** Puts back the handlers that were installed before. */
    @Override
    void close();
  }
}
