package dev.lull.server.internal.admin;

import dev.lull.core.CancellationCause;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Records completed requests and cancellations; the engine calls it once per request. In Prometheus
 * names:
 *
 * <ul>
 *   <li>{@code lull_requests_seconds{method,route,status}} — a histogram ({@code _bucket}, {@code
 *       _count}, {@code _sum}) of the time from the complete request head to the last byte of the
 *       response, with buckets from 1 ms to 60 s so that quantiles can be computed across instances
 *   <li>{@code lull_requests_cancelled_total{cause}} — requests whose context was cancelled, by
 *       {@link CancellationCause} ({@code client_disconnected}, {@code deadline_exceeded}, {@code
 *       server_stopping}, {@code cancelled})
 * </ul>
 *
 * <p>Labels are bounded: {@code method} is one of the standard methods or {@code OTHER}; {@code
 * route} is a router pattern ({@code /jobs/{id}}) or {@code unmatched} — never the raw path; {@code
 * status} is the numeric code.
 *
 * <p>Cheap on the hot path: the timer of each (method, route, status) is looked up in a map
 * (allocating only the small key) and created once; no string is built per request. Thread-safe.
 */
public final class RequestMetrics {
  /** The route label of a request no router pattern matched (404, 405, or no router). */
  public static final String UNMATCHED = "unmatched";

  private static final Duration MIN_BUCKET = Duration.ofMillis(1);
  private static final Duration MAX_BUCKET = Duration.ofSeconds(60);

  private final MeterRegistry registry;
  private final ConcurrentHashMap<Key, Timer> timers = new ConcurrentHashMap<>();
  private final Map<CancellationCause, Counter> cancellations =
      new EnumMap<>(CancellationCause.class);

  private record Key(String method, String route, int status) {}

  public RequestMetrics(MeterRegistry registry) {
    this.registry = registry;
    for (CancellationCause cause : CancellationCause.values()) {
      cancellations.put(
          cause,
          Counter.builder("lull.requests.cancelled")
              .tag("cause", cause.name().toLowerCase(Locale.ROOT))
              .description("Requests whose context was cancelled, by cause")
              .register(registry));
    }
  }

  /**
   * Records one completed request.
   *
   * @param method the request method as the client sent it
   * @param route the pattern of the route that handled it, or {@link #UNMATCHED} (null counts as
   *     unmatched)
   * @param status the response status
   * @param nanos how long it took
   */
  public void record(String method, String route, int status, long nanos) {
    Key key = new Key(normalize(method), route == null ? UNMATCHED : route, status);
    Timer timer = timers.get(key);
    if (timer == null) timer = timers.computeIfAbsent(key, this::newTimer);
    timer.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Counts one request cancelled for {@code cause}. */
  public void cancelled(CancellationCause cause) {
    cancellations.get(cause).increment();
  }

  private Timer newTimer(Key k) {
    return Timer.builder("lull.requests")
        .tag("method", k.method())
        .tag("route", k.route())
        .tag("status", Integer.toString(k.status()))
        .description("Requests, from the complete head to the last byte of the response")
        .publishPercentileHistogram()
        .minimumExpectedValue(MIN_BUCKET)
        .maximumExpectedValue(MAX_BUCKET)
        .register(registry);
  }

  /** The standard methods as themselves (the same String instance), anything else as OTHER. */
  static String normalize(String method) {
    return switch (method) {
      case "GET" -> "GET";
      case "HEAD" -> "HEAD";
      case "POST" -> "POST";
      case "PUT" -> "PUT";
      case "DELETE" -> "DELETE";
      case "PATCH" -> "PATCH";
      case "OPTIONS" -> "OPTIONS";
      case "TRACE" -> "TRACE";
      case "CONNECT" -> "CONNECT";
      default -> "OTHER";
    };
  }
}
