package dev.lull.server;

import dev.lull.core.Durations;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * How the engine runs the requests of one route: their deadline and what a cancellation does to the
 * handler's thread. Immutable; given to {@link Router.Builder#route(String, Handler,
 * RouteOptions)}.
 *
 * <pre>{@code
 * Router.builder()
 *     .route("GET /report", reports::build,
 *         RouteOptions.builder().timeout(Duration.ofMinutes(2)).timeoutStatus(504).build())
 *     .route("POST /import", imports::run,
 *         RouteOptions.builder().interruptOnCancel(false).build())
 *     .build();
 * }</pre>
 *
 * <p>A route's {@code timeout} replaces the server's {@code requestTimeout} for its requests,
 * longer or shorter, counted from the start of the request's handler. The one exception: if code in
 * front of the router (a filter wrapping it) already called {@link Request#context()}, the context
 * it got keeps its deadline, and the route's timeout can then only shorten it (a context's deadline
 * never moves later).
 */
public final class RouteOptions {
  /** The status a request gets when its deadline passes before its response started. */
  public static final int DEFAULT_TIMEOUT_STATUS = 503;

  private final Duration timeout; // null: the server's requestTimeout
  private final Integer timeoutStatus; // null: 503, or what an enclosing route set
  private final Boolean interruptOnCancel; // null: the server's setting
  private final Scheduling scheduling; // null: the server's setting

  private RouteOptions(Builder b) {
    this.timeout = b.timeout;
    this.timeoutStatus = b.timeoutStatus;
    this.interruptOnCancel = b.interruptOnCancel;
    this.scheduling = b.scheduling;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these options, to derive others from them. */
  public Builder newBuilder() {
    Builder b = new Builder();
    b.timeout = timeout;
    b.timeoutStatus = timeoutStatus;
    b.interruptOnCancel = interruptOnCancel;
    b.scheduling = scheduling;
    return b;
  }

  /** The route's request deadline; empty: the server's {@code requestTimeout} applies. */
  public Optional<Duration> timeout() {
    return Optional.ofNullable(timeout);
  }

  /**
   * The status the client gets when the request's deadline (the route's or the server's) passes
   * before its response started; empty: {@value #DEFAULT_TIMEOUT_STATUS}, or what the route of an
   * enclosing router set.
   */
  public OptionalInt timeoutStatus() {
    return timeoutStatus == null ? OptionalInt.empty() : OptionalInt.of(timeoutStatus);
  }

  /** Whether cancelling a request interrupts its handler's thread; empty: the server's setting. */
  public Optional<Boolean> interruptOnCancel() {
    return Optional.ofNullable(interruptOnCancel);
  }

  /** Which threads carry the route's handler threads; empty: the server's setting. */
  public Optional<Scheduling> scheduling() {
    return Optional.ofNullable(scheduling);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RouteOptions r
        && Objects.equals(timeout, r.timeout)
        && Objects.equals(timeoutStatus, r.timeoutStatus)
        && Objects.equals(interruptOnCancel, r.interruptOnCancel)
        && scheduling == r.scheduling;
  }

  @Override
  public int hashCode() {
    return Objects.hash(timeout, timeoutStatus, interruptOnCancel, scheduling);
  }

  @Override
  public String toString() {
    return "RouteOptions{timeout="
        + (timeout == null ? "server's" : Durations.format(timeout))
        + ", timeoutStatus="
        + (timeoutStatus == null ? "default" : timeoutStatus)
        + ", interruptOnCancel="
        + (interruptOnCancel == null ? "server's" : interruptOnCancel)
        + ", scheduling="
        + (scheduling == null ? "server's" : scheduling)
        + "}";
  }

  /** Builds {@link RouteOptions}; every option left unset keeps the server's behaviour. */
  public static final class Builder {
    private Duration timeout;
    private Integer timeoutStatus;
    private Boolean interruptOnCancel;
    private Scheduling scheduling;

    private Builder() {}

    /**
     * The deadline of each request of the route, from the start of its handler; it replaces the
     * server's {@code requestTimeout}. When it passes, the request's context is cancelled with
     * {@code DEADLINE_EXCEEDED}; the client gets {@link #timeoutStatus(int)} if no response
     * started, else the connection is closed. Must be positive.
     */
    public Builder timeout(Duration timeout) {
      this.timeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    /**
     * The status sent when the request's deadline passes before its response started: 503 by
     * default; 504 suits a route that waits on another service. Between 400 and 599.
     */
    public Builder timeoutStatus(int status) {
      this.timeoutStatus = status;
      return this;
    }

    /**
     * Whether cancelling a request of this route interrupts its handler's thread. Turn it off for
     * code that must not see an interrupt mid-way (some libraries close a channel they were blocked
     * on when interrupted); such a handler polls {@code request.context()} instead.
     */
    public Builder interruptOnCancel(boolean interrupt) {
      this.interruptOnCancel = interrupt;
      return this;
    }

    /**
     * Which threads carry the handler threads of this route: {@link Scheduling#SHARED} for a route
     * that computes for long, reads files, runs processes or calls native code, on a server whose
     * default is {@link Scheduling#EVENT_LOOP}. The request starts where the server's setting says
     * and moves when the router has matched the route.
     */
    public Builder scheduling(Scheduling scheduling) {
      this.scheduling = Objects.requireNonNull(scheduling, "scheduling");
      return this;
    }

    /**
     * @throws IllegalArgumentException naming the option and its value, if one is invalid
     */
    public RouteOptions build() {
      if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
        throw new IllegalArgumentException("timeout <= 0: " + Durations.format(timeout));
      }
      if (timeoutStatus != null && (timeoutStatus < 400 || timeoutStatus > 599)) {
        throw new IllegalArgumentException("timeoutStatus out of range 400-599: " + timeoutStatus);
      }
      return new RouteOptions(this);
    }
  }
}
