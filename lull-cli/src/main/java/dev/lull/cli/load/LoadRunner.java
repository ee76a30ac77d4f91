package dev.lull.cli.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * Runs a {@link LoadSpec} on Netty and returns its {@link LoadResult}. The calling thread waits
 * and, once a second, drains the latency recorder and (if asked) prints a progress line.
 *
 * <pre>{@code
 * LoadRunner runner = new LoadRunner(spec);
 * LoadResult result = runner.run(null); // or a PrintWriter for the progress lines
 * }</pre>
 */
public final class LoadRunner {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  private final LoadSpec spec;
  private final ClientTransport transport;
  private final Stats stats = new Stats();
  private final Histogram latencies = new Histogram(1, Stats.MAX_LATENCY_MICROS, 3);
  private final Object lock = new Object();
  private List<Worker> workers; // guarded by lock
  private boolean stopRequested; // guarded by lock

  public LoadRunner(LoadSpec spec) {
    this(spec, ClientTransport.best());
  }

  LoadRunner(LoadSpec spec, ClientTransport transport) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.transport = transport;
  }

  /**
   * Stops sending new requests, from any thread; requests in flight finish (or time out) and {@link
   * #run} returns the result so far.
   */
  public void stop() {
    synchronized (lock) {
      stopRequested = true;
      if (workers == null) return;
      for (Worker w : workers) {
        try {
          w.loop.execute(w::stop);
        } catch (RejectedExecutionException ended) {
          // the run is over: nothing left to stop
        }
      }
    }
  }

  /** Requests that got a 2xx so far: live while {@link #run} runs, for tests that watch a run. */
  public long okSoFar() {
    return stats.ok.sum();
  }

  /** Requests that failed so far (any kind): live while {@link #run} runs. */
  public long failedSoFar() {
    return stats.failed();
  }

  /**
   * Runs to the end and returns the result. Once per second, writes a progress line to {@code
   * progress} unless it is null.
   *
   * @throws IllegalStateException if called twice
   */
  public LoadResult run(PrintWriter progress) {
    // No point in more connections than requests.
    int slotCount =
        spec.requests() > 0
            ? (int) Math.min(spec.connections(), spec.requests())
            : spec.connections();
    int threads = Math.min(spec.threads(), slotCount);
    EventLoopGroup group = transport.newGroup(threads);
    try {
      Bootstrap bootstrap =
          new Bootstrap()
              .channel(transport.channelClass(spec.target()))
              .remoteAddress(transport.address(spec.target()))
              .option(
                  ChannelOption.CONNECT_TIMEOUT_MILLIS,
                  (int) Math.min(Integer.MAX_VALUE, Math.max(1, spec.timeout().toMillis())));
      if (spec.target().unixSocket().isEmpty()) bootstrap.option(ChannelOption.TCP_NODELAY, true);
      AtomicLong permits =
          !spec.openLoop() && spec.requests() > 0 ? new AtomicLong(spec.requests()) : null;
      long durationNanos = spec.durationBound().map(Duration::toNanos).orElse(0L);
      List<Worker> list = new ArrayList<>();
      int i = 0;
      for (EventExecutor e : group) {
        int connections = slotCount / threads + (i < slotCount % threads ? 1 : 0);
        RateSchedule schedule =
            spec.openLoop()
                ? new RateSchedule(spec.rate(), threads, i, spec.requests(), durationNanos)
                : null;
        list.add(new Worker((EventLoop) e, spec, stats, bootstrap, connections, schedule, permits));
        i++;
      }
      synchronized (lock) {
        if (workers != null) throw new IllegalStateException("already run");
        workers = List.copyOf(list);
      }
      // Connections first, so the clock starts with them open (a refused one is retried by the
      // first request, which counts the outcome). Bounded by the connect timeout.
      for (Worker w : list) w.loop.execute(w::preconnect);
      awaitQuietly(
          CompletableFuture.allOf(
              list.stream().map(w -> w.ready).toArray(CompletableFuture[]::new)),
          spec.timeout().plusSeconds(1));
      long start = System.nanoTime();
      synchronized (lock) {
        for (Worker w : list) w.loop.execute(() -> w.start(start));
        if (stopRequested) for (Worker w : list) w.loop.execute(w::stop);
      }
      CompletableFuture<Void> all =
          CompletableFuture.allOf(list.stream().map(w -> w.done).toArray(CompletableFuture[]::new));
      long nextReport = start + SECOND;
      long lastTotal = 0;
      boolean interrupted = false;
      while (true) {
        try {
          all.get(Math.max(0, nextReport - System.nanoTime()), TimeUnit.NANOSECONDS);
          break;
        } catch (TimeoutException e) {
          stats.drainLatencies(latencies);
          long total = stats.total();
          if (progress != null) {
            progress.println(progressLine(nextReport - start, total - lastTotal));
            progress.flush();
          }
          lastTotal = total;
          nextReport += SECOND;
        } catch (InterruptedException e) {
          interrupted = true;
          stop();
        } catch (ExecutionException e) {
          throw new IllegalStateException("load run failed", e.getCause());
        }
      }
      long end = System.nanoTime();
      stats.drainLatencies(latencies);
      if (interrupted) Thread.currentThread().interrupt();
      return new LoadResult(
          spec,
          transport.name(),
          Duration.ofNanos(end - start),
          stats.ok.sum(),
          stats.failures(),
          stats.statuses(),
          stats.retried.sum(),
          stats.late.sum(),
          stats.missed.sum(),
          stats.opened.sum(),
          stats.reconnects.sum(),
          stats.maxOpen(),
          latencies.copy());
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
  }

  private static void awaitQuietly(CompletableFuture<?> future, Duration limit) {
    try {
      future.get(limit.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException | ExecutionException e) {
      // start anyway; the first requests connect themselves
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private String progressLine(long elapsedNanos, long lastSecond) {
    StringBuilder b = new StringBuilder("lull load: ");
    b.append(elapsedNanos / SECOND).append("s  ");
    b.append(lastSecond).append(" req/s  ok ").append(stats.ok.sum());
    b.append("  failed ").append(stats.failed());
    List<String> kinds = new ArrayList<>();
    for (Map.Entry<FailureKind, Long> e : stats.failures().entrySet()) {
      if (e.getValue() > 0) kinds.add(e.getKey().label() + " " + e.getValue());
    }
    if (!kinds.isEmpty()) b.append(" (").append(String.join(", ", kinds)).append(')');
    if (spec.openLoop()) b.append("  late ").append(stats.late.sum());
    if (latencies.getTotalCount() > 0) {
      b.append(
          String.format(
              Locale.ROOT,
              "  p50 %s  p99 %s",
              LoadResult.millis(latencies.getValueAtPercentile(50)),
              LoadResult.millis(latencies.getValueAtPercentile(99))));
    }
    return b.toString();
  }
}
