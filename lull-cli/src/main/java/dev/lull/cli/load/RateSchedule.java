package dev.lull.cli.load;

/**
 * When each request of an open-loop run falls due, as a pure function of the time elapsed since the
 * start. Request {@code g} of the whole run (counting from 0) is due at {@code ceil(g * 1e9 /
 * rate)} nanoseconds. With several event loops, loop {@code offset} of {@code stride} takes the
 * requests {@code g = k * stride + offset}, so the loops interleave and together keep the rate;
 * {@code k} is the loop's local index. The run's bounds cut the schedule: only requests due before
 * the duration ends, and only the first {@code requests} of them.
 */
final class RateSchedule {
  private final double nanosPerRequest;
  private final int stride;
  private final int offset;
  private final long limit;

  /**
   * @param rate requests per second for the whole run, > 0
   * @param stride how many loops share the run
   * @param offset this loop's place among them, 0 .. stride-1
   * @param requests requests in the whole run, or 0 for no count bound
   * @param durationNanos how long requests fall due, or 0 for no time bound
   */
  RateSchedule(double rate, int stride, int offset, long requests, long durationNanos) {
    if (!(rate > 0) || Double.isInfinite(rate)) throw new IllegalArgumentException("rate: " + rate);
    if (stride < 1 || offset < 0 || offset >= stride) {
      throw new IllegalArgumentException("offset " + offset + " of stride " + stride);
    }
    this.nanosPerRequest = 1e9 / rate;
    this.stride = stride;
    this.offset = offset;
    long total = requests > 0 ? requests : Long.MAX_VALUE;
    if (durationNanos > 0) total = Math.min(total, globalDueBy(durationNanos - 1));
    this.limit = total > offset ? (total - offset - 1) / stride + 1 : 0;
  }

  /** How many requests this loop sends in the whole run. */
  long limit() {
    return limit;
  }

  /** When local request {@code k} falls due, in nanoseconds after the start. */
  long intendedNanos(long k) {
    return globalIntended(k * stride + offset);
  }

  /** How many of this loop's requests are due {@code elapsedNanos} after the start. */
  long dueBy(long elapsedNanos) {
    long g = globalDueBy(elapsedNanos); // requests 0 .. g-1 are due
    if (g <= offset) return 0;
    return Math.min(limit, (g - offset - 1) / stride + 1);
  }

  private long globalIntended(long g) {
    return (long) Math.ceil(g * nanosPerRequest);
  }

  /** The number of whole-run requests due at {@code elapsedNanos}: those with intended <= it. */
  private long globalDueBy(long elapsedNanos) {
    if (elapsedNanos < 0) return 0;
    long g = (long) Math.floor(elapsedNanos / nanosPerRequest); // the last due, up to rounding
    while (g >= 0 && globalIntended(g) > elapsedNanos) g--;
    while (globalIntended(g + 1) <= elapsedNanos) g++;
    return g + 1;
  }
}
