package dev.lull.core;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses and formats durations the way Lull's flags and query parameters write them: {@code 250ms},
 * {@code 20s}, {@code 5m}, {@code 1h}, sums such as {@code 1m30s}, {@code 0} and ISO-8601 ({@code
 * PT20S}).
 */
public final class Durations {
  private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h|d)");

  private Durations() {}

  /**
   * Parses {@code text}.
   *
   * @throws IllegalArgumentException if {@code text} is not a duration or is negative; the message
   *     names the bad value
   */
  public static Duration parse(String text) {
    if (text == null) throw new IllegalArgumentException("duration is null");
    String s = text.trim();
    if (s.isEmpty()) throw new IllegalArgumentException("empty duration: \"" + text + "\"");
    if (s.equals("0")) return Duration.ZERO;
    if (s.length() > 1 && (s.charAt(0) == 'P' || s.charAt(0) == 'p')) {
      try {
        Duration d = Duration.parse(s.toUpperCase(Locale.ROOT));
        if (d.isNegative())
          throw new IllegalArgumentException("negative duration: \"" + text + "\"");
        return d;
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException(
            "invalid duration: \"" + text + "\" (use 250ms, 20s, 5m, 1h or PT20S)");
      }
    }
    Matcher m = PART.matcher(s);
    Duration total = Duration.ZERO;
    int at = 0;
    while (at < s.length()) {
      if (!m.find(at) || m.start() != at) {
        throw new IllegalArgumentException(
            "invalid duration: \"" + text + "\" (use 250ms, 20s, 5m, 1h or PT20S)");
      }
      double value = Double.parseDouble(m.group(1));
      long nanosPerUnit =
          switch (m.group(2)) {
            case "ns" -> 1L;
            case "us", "µs" -> 1_000L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            case "h" -> 3_600_000_000_000L;
            default -> 86_400_000_000_000L;
          };
      total = total.plusNanos(Math.round(value * nanosPerUnit));
      at = m.end();
    }
    return total;
  }

  /** Formats {@code d} in the shortest of Lull's own units that is exact, e.g. {@code 250ms}. */
  public static String format(Duration d) {
    if (d.isZero()) return "0s";
    long nanos;
    try {
      nanos = d.toNanos();
    } catch (ArithmeticException e) {
      return d.toString();
    }
    if (nanos % 3_600_000_000_000L == 0) return nanos / 3_600_000_000_000L + "h";
    if (nanos % 60_000_000_000L == 0) return nanos / 60_000_000_000L + "m";
    if (nanos % 1_000_000_000L == 0) return nanos / 1_000_000_000L + "s";
    if (nanos % 1_000_000L == 0) return nanos / 1_000_000L + "ms";
    if (nanos % 1_000L == 0) return nanos / 1_000L + "us";
    return nanos + "ns";
  }

  /**
   * Formats {@code d} for people, rounded: {@code 850us}, {@code 123ms}, {@code 12.3s}, {@code
   * 5m3s}, {@code 2h5m}. For logs and status pages; use {@link #format(Duration)} where the value
   * must be exact.
   */
  public static String formatApprox(Duration d) {
    if (d.isNegative()) return "-" + formatApprox(d.negated());
    long nanos;
    try {
      nanos = d.toNanos();
    } catch (ArithmeticException e) {
      return d.toHours() + "h";
    }
    if (nanos == 0) return "0s";
    if (nanos < 1_000_000L) return Math.max(1, Math.round(nanos / 1_000.0)) + "us";
    if (nanos < 1_000_000_000L) return Math.round(nanos / 1_000_000.0) + "ms";
    if (nanos < 60_000_000_000L) {
      // Tenths in integers: Double.toString is slow the first times it runs (a stop logs this).
      long tenths = Math.round(nanos / 100_000_000.0);
      return tenths / 10 + (tenths % 10 == 0 ? "" : "." + tenths % 10) + "s";
    }
    long seconds = Math.round(nanos / 1_000_000_000.0);
    if (seconds < 3600) return seconds / 60 + "m" + (seconds % 60 == 0 ? "" : seconds % 60 + "s");
    long minutes = Math.round(seconds / 60.0);
    return minutes / 60 + "h" + (minutes % 60 == 0 ? "" : minutes % 60 + "m");
  }
}
