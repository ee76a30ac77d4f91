package dev.lull.cli.load;

import dev.lull.core.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import org.HdrHistogram.Histogram;

/**
 * The outcome of a run. Every request sent is counted exactly once, as {@code ok} (a 2xx response)
 * or as a failure of one kind: {@code total == ok + failed}. A retried request is one request,
 * counted by its final outcome; {@code retried} says how many needed the retry. Open-loop requests
 * that fell due but were never sent before the run ended are {@code missed}, not part of {@code
 * total}.
 *
 * @param spec what was run
 * @param transport epoll or nio
 * @param elapsed from the first request to the last outcome
 * @param ok requests answered 2xx
 * @param failures failed requests by kind; {@link FailureKind#STATUS} counts non-2xx responses
 * @param statuses complete responses by status code
 * @param retried requests sent a second time after the keep-alive race: idempotent, on a reused
 *     connection, failed before any byte of the response arrived
 * @param late open loop: requests that found every connection busy when they fell due
 * @param missed open loop: requests due that were never sent because the run ended
 * @param connectionsOpened connections established
 * @param reconnects connections established to replace one that was closed
 * @param maxOpen the most connections open (or connecting) at once; never more than {@code
 *     spec.connections()}
 * @param latency latencies in microseconds of every complete response, any status; in an open loop
 *     measured from when the request fell due
 */
public record LoadResult(
    LoadSpec spec,
    String transport,
    Duration elapsed,
    long ok,
    Map<FailureKind, Long> failures,
    SortedMap<Integer, Long> statuses,
    long retried,
    long late,
    long missed,
    long connectionsOpened,
    long reconnects,
    int maxOpen,
    Histogram latency) {

  public long failed() {
    return failures.values().stream().mapToLong(Long::longValue).sum();
  }

  public long total() {
    return ok + failed();
  }

  /** Requests (any outcome) per second of elapsed time. */
  public double throughput() {
    double s = elapsed.toNanos() / 1e9;
    return s > 0 ? total() / s : 0;
  }

  /** The summary for people, several aligned lines. */
  public String toText() {
    StringBuilder b = new StringBuilder();
    line(b, "target", spec.method() + " " + spec.target());
    line(b, "load", model());
    line(b, "elapsed", String.format(Locale.ROOT, "%.2fs", elapsed.toNanos() / 1e9));
    line(
        b,
        "requests",
        total() + " sent: " + ok + " ok, " + failed() + " failed, " + retried + " retried");
    List<String> kinds = new ArrayList<>();
    failures.forEach((k, n) -> kinds.add(k.label() + " " + n));
    line(b, "failures", String.join(", ", kinds));
    if (spec.openLoop()) line(b, "schedule", late + " late, " + missed + " missed");
    List<String> codes = new ArrayList<>();
    statuses.forEach((code, n) -> codes.add(code + ": " + n));
    line(b, "statuses", codes.isEmpty() ? "none" : String.join(", ", codes));
    line(
        b,
        "connections",
        connectionsOpened + " opened, " + reconnects + " reconnects, at most " + maxOpen + " open");
    line(b, "throughput", String.format(Locale.ROOT, "%.1f req/s", throughput()));
    if (latency.getTotalCount() == 0) {
      line(b, "latency", "no responses");
    } else {
      line(
          b,
          "latency",
          "p50 "
              + millis(latency.getValueAtPercentile(50))
              + "  p90 "
              + millis(latency.getValueAtPercentile(90))
              + "  p99 "
              + millis(latency.getValueAtPercentile(99))
              + "  p99.9 "
              + millis(latency.getValueAtPercentile(99.9))
              + "  max "
              + millis(latency.getMaxValue()));
    }
    return b.toString();
  }

  private String model() {
    String bound =
        spec.durationBound().map(Durations::format).orElse("")
            + (spec.durationBound().isPresent() && spec.requests() > 0 ? " or " : "")
            + (spec.requests() > 0 ? spec.requests() + " requests" : "");
    String conns = spec.connections() + (spec.connections() == 1 ? " connection" : " connections");
    if (spec.openLoop()) {
      return String.format(Locale.ROOT, "open loop at %s req/s over %s, ", rate(), conns) + bound;
    }
    return "closed loop over " + conns + ", " + bound;
  }

  private String rate() {
    double r = spec.rate();
    return r == Math.rint(r) ? Long.toString((long) r) : Double.toString(r);
  }

  /** The summary as one JSON object, for scripts and tests. */
  public String toJson() {
    StringBuilder b = new StringBuilder("{");
    field(b, "target", quote(spec.target().toString()));
    field(b, "method", quote(spec.method()));
    field(b, "mode", quote(spec.openLoop() ? "open" : "closed"));
    field(b, "connections", Integer.toString(spec.connections()));
    field(b, "rate", number(spec.rate()));
    field(b, "transport", quote(transport));
    field(b, "elapsed_seconds", number(elapsed.toNanos() / 1e9));
    field(b, "total", Long.toString(total()));
    field(b, "ok", Long.toString(ok));
    field(b, "failed", Long.toString(failed()));
    StringBuilder f = new StringBuilder("{");
    failures.forEach((k, n) -> field(f, k.label(), Long.toString(n)));
    field(b, "failures", close(f));
    StringBuilder s = new StringBuilder("{");
    statuses.forEach((code, n) -> field(s, Integer.toString(code), Long.toString(n)));
    field(b, "statuses", close(s));
    field(b, "retried", Long.toString(retried));
    field(b, "late", Long.toString(late));
    field(b, "missed", Long.toString(missed));
    field(b, "connections_opened", Long.toString(connectionsOpened));
    field(b, "reconnects", Long.toString(reconnects));
    field(b, "max_open", Integer.toString(maxOpen));
    field(b, "throughput", number(throughput()));
    StringBuilder l = new StringBuilder("{");
    field(l, "count", Long.toString(latency.getTotalCount()));
    boolean any = latency.getTotalCount() > 0;
    field(l, "mean", any ? number(latency.getMean() / 1000) : "null");
    field(l, "p50", ms(50, any));
    field(l, "p90", ms(90, any));
    field(l, "p99", ms(99, any));
    field(l, "p99_9", ms(99.9, any));
    field(l, "max", any ? number(latency.getMaxValue() / 1000.0) : "null");
    field(b, "latency_ms", close(l));
    return close(b);
  }

  private String ms(double percentile, boolean any) {
    return any ? number(latency.getValueAtPercentile(percentile) / 1000.0) : "null";
  }

  /** Microseconds as milliseconds (or seconds from 10 s), for people. */
  static String millis(long micros) {
    if (micros >= 10_000_000) return String.format(Locale.ROOT, "%.1fs", micros / 1e6);
    if (micros >= 100_000) return String.format(Locale.ROOT, "%.0fms", micros / 1e3);
    if (micros >= 10_000) return String.format(Locale.ROOT, "%.1fms", micros / 1e3);
    return String.format(Locale.ROOT, "%.2fms", micros / 1e3);
  }

  private static void line(StringBuilder b, String label, String value) {
    b.append(String.format(Locale.ROOT, "%-12s %s%n", label, value));
  }

  private static void field(StringBuilder b, String name, String json) {
    if (b.length() > 1) b.append(',');
    b.append(quote(name)).append(':').append(json);
  }

  private static String close(StringBuilder b) {
    return b.append('}').toString();
  }

  private static String number(double d) {
    if (!Double.isFinite(d)) return "null";
    if (d == Math.rint(d) && Math.abs(d) < 1e15) return Long.toString((long) d);
    return String.format(Locale.ROOT, "%.3f", d);
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    return b.append('"').toString();
  }
}
