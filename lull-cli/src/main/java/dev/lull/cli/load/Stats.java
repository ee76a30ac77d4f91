package dev.lull.cli.load;

import java.util.EnumMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The run's counters, written by the event loops and read by the reporting thread. Latencies go to
 * an HdrHistogram {@link Recorder} (many writers, one reader) in microseconds, up to one hour.
 */
final class Stats {
  static final long MAX_LATENCY_MICROS = TimeUnit.HOURS.toMicros(1);

  final LongAdder ok = new LongAdder();
  final LongAdder retried = new LongAdder();
  final LongAdder late = new LongAdder();
  final LongAdder missed = new LongAdder();
  final LongAdder opened = new LongAdder();
  final LongAdder reconnects = new LongAdder();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger maxOpen = new AtomicInteger();
  private final LongAdder[] failures = new LongAdder[FailureKind.values().length];
  private final ConcurrentHashMap<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
  private final Recorder latency = new Recorder(1, MAX_LATENCY_MICROS, 3);

  Stats() {
    for (int i = 0; i < failures.length; i++) failures[i] = new LongAdder();
  }

  /** A channel was created (before it connects); it counts as open until its close completes. */
  void channelCreated() {
    int n = open.incrementAndGet();
    maxOpen.accumulateAndGet(n, Math::max);
  }

  void channelClosed() {
    open.decrementAndGet();
  }

  /** The most channels open at once, connecting ones included. */
  int maxOpen() {
    return maxOpen.get();
  }

  /** A complete response: counts its status, records its latency, and counts it ok or failed. */
  void response(int status, long latencyNanos) {
    statuses.computeIfAbsent(status, s -> new LongAdder()).increment();
    recordLatency(latencyNanos);
    if (status >= 200 && status < 300) {
      ok.increment();
    } else {
      failures[FailureKind.STATUS.ordinal()].increment();
    }
  }

  /** A request that got no complete response. */
  void failure(FailureKind kind) {
    if (kind == FailureKind.STATUS) throw new IllegalArgumentException("use response()");
    failures[kind.ordinal()].increment();
  }

  private void recordLatency(long nanos) {
    long micros = Math.max(1, TimeUnit.NANOSECONDS.toMicros(nanos));
    latency.recordValue(Math.min(micros, MAX_LATENCY_MICROS));
  }

  long failed() {
    long n = 0;
    for (LongAdder a : failures) n += a.sum();
    return n;
  }

  long total() {
    return ok.sum() + failed();
  }

  Map<FailureKind, Long> failures() {
    Map<FailureKind, Long> m = new EnumMap<>(FailureKind.class);
    for (FailureKind k : FailureKind.values()) m.put(k, failures[k.ordinal()].sum());
    return m;
  }

  SortedMap<Integer, Long> statuses() {
    SortedMap<Integer, Long> m = new TreeMap<>();
    statuses.forEach((k, v) -> m.put(k, v.sum()));
    return m;
  }

  /** Moves the latencies recorded since the last call into {@code into}. One reader at a time. */
  void drainLatencies(Histogram into) {
    into.add(latency.getIntervalHistogram());
  }
}
