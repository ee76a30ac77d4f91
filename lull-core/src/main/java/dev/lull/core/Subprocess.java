package dev.lull.core;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Starts a process bound to a {@link Context}: when the context is cancelled, the process and all
 * its descendants get SIGTERM, and those still alive after a grace period get SIGKILL. Commands are
 * argument lists, never a shell string, so request data cannot become shell syntax.
 *
 * <p>The child does not inherit Lull's systemd variables (see {@link
 * SocketActivation#stripEnvironment(ProcessBuilder)}).
 *
 * <p>Limits: descendants are found through {@link ProcessHandle#descendants()} when the context is
 * cancelled; a process that daemonizes (double-forks and leaves the tree) before that is not found.
 * The JVM reaps its direct children; orphaned grandchildren are reaped by init or the nearest
 * subreaper (systemd's service manager is one), so no zombies remain unless the JVM itself is PID
 * 1.
 */
public final class Subprocess {
  /** Default time between SIGTERM and SIGKILL. */
  public static final Duration DEFAULT_GRACE = Duration.ofSeconds(2);

  private Subprocess() {}

  /** Starts {@code command} bound to {@code context}, with {@link #DEFAULT_GRACE}. */
  public static Process start(Context context, String... command) throws IOException {
    return start(new ProcessBuilder(command), context, DEFAULT_GRACE);
  }

  /**
   * Starts {@code builder}'s process bound to {@code context}. If the context is already cancelled,
   * no process is started.
   *
   * @throws CancelledException if the context is already cancelled
   * @throws IOException if the process cannot be started
   */
  public static Process start(ProcessBuilder builder, Context context, Duration grace)
      throws IOException {
    Objects.requireNonNull(context, "context");
    Objects.requireNonNull(grace, "grace");
    context.checkpoint();
    SocketActivation.stripEnvironment(builder);
    Process process = builder.start();
    Context.Registration registration = context.onCancel(() -> killTree(process.toHandle(), grace));
    process.onExit().thenRun(registration::remove);
    return process;
  }

  /**
   * Sends SIGTERM to {@code root} and every descendant, then SIGKILL to those alive after {@code
   * grace}. Returns at once; the SIGKILL step runs asynchronously.
   *
   * @return a future completed when every process of the tree has exited
   */
  public static CompletableFuture<Void> killTree(ProcessHandle root, Duration grace) {
    // Snapshot the tree first: once a parent dies its children move to init and out of our view.
    Map<Long, ProcessHandle> tree = new LinkedHashMap<>();
    collect(root, tree);
    for (ProcessHandle h : tree.values()) h.destroy();
    // A process may have forked between the snapshot and SIGTERM: look once more.
    for (ProcessHandle h : new ArrayList<>(tree.values())) {
      if (h.isAlive()) collect(h, tree);
    }
    for (ProcessHandle h : tree.values()) if (h.isAlive()) h.destroy();
    List<CompletableFuture<ProcessHandle>> exits = new ArrayList<>();
    for (ProcessHandle h : tree.values()) exits.add(h.onExit());
    CompletableFuture<Void> all = CompletableFuture.allOf(exits.toArray(CompletableFuture[]::new));
    return all.completeOnTimeout(null, grace.toNanos(), TimeUnit.NANOSECONDS)
        .thenCompose(
            ignored -> {
              boolean anyAlive = false;
              for (ProcessHandle h : tree.values()) {
                if (h.isAlive()) {
                  anyAlive = true;
                  h.destroyForcibly();
                }
              }
              return anyAlive ? all : CompletableFuture.<Void>completedFuture(null);
            });
  }

  private static void collect(ProcessHandle root, Map<Long, ProcessHandle> into) {
    into.putIfAbsent(root.pid(), root);
    root.descendants().forEach(h -> into.putIfAbsent(h.pid(), h));
  }
}
