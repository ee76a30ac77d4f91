package dev.lull.cli.load;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What to run: one request, repeated over a fixed set of keep-alive connections, either back to
 * back (closed loop) or at a fixed rate (open loop), until a request count or a duration is
 * reached. The command line validates the values and names the bad option; this record only checks
 * its invariants.
 *
 * @param target where to send
 * @param method the request method, upper case
 * @param headers extra request headers, in order (name, value)
 * @param body the request body, empty for none
 * @param connections how many keep-alive connections; never more are open at once
 * @param rate requests per second over all connections (open loop), or 0 for a closed loop
 * @param duration how long to send new requests, or null for no time bound
 * @param requests how many requests to send, or 0 for no count bound
 * @param timeout how long one request may take from being sent, connecting included
 * @param threads event-loop threads; connections are spread over them
 */
public record LoadSpec(
    Target target,
    String method,
    List<Map.Entry<String, String>> headers,
    byte[] body,
    int connections,
    double rate,
    Duration duration,
    long requests,
    Duration timeout,
    int threads) {

  public LoadSpec {
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(method, "method");
    headers = List.copyOf(headers);
    body = body == null ? new byte[0] : body.clone();
    Objects.requireNonNull(timeout, "timeout");
    check(connections >= 1, "connections < 1: " + connections);
    check(rate >= 0 && Double.isFinite(rate), "rate < 0: " + rate);
    check(duration == null || duration.toNanos() > 0, "duration <= 0: " + duration);
    check(requests >= 0, "requests < 0: " + requests);
    check(duration != null || requests > 0, "no bound: give a duration or a request count");
    check(timeout.toNanos() > 0, "timeout <= 0: " + timeout);
    check(threads >= 1 && threads <= connections, "threads not in 1..connections: " + threads);
  }

  /** Whether requests go out at a fixed rate rather than back to back. */
  public boolean openLoop() {
    return rate > 0;
  }

  /** The time bound, if any. */
  public Optional<Duration> durationBound() {
    return Optional.ofNullable(duration);
  }

  /**
   * Whether a request with this method may be sent twice: GET, HEAD, PUT, DELETE, OPTIONS, TRACE.
   */
  public boolean idempotent() {
    return switch (method) {
      case "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE" -> true;
      default -> false;
    };
  }

  @Override
  public byte[] body() {
    return body.clone();
  }

  private static void check(boolean ok, String message) {
    if (!ok) throw new IllegalArgumentException(message);
  }
}
