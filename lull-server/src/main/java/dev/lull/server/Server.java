package dev.lull.server;

import dev.lull.core.Durations;
import dev.lull.server.internal.Engine;
import dev.lull.server.internal.Settings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An HTTP/1.1 server whose handlers run on virtual threads.
 *
 * <pre>{@code
 * Server server = Server.builder()
 *     .listen("127.0.0.1:8080")
 *     .handler((req, res) -> res.send("hello\n"))
 *     .build();
 * server.start();
 * }</pre>
 *
 * <p>Every limit and timeout has a default that suits a server facing the internet; the builder
 * validates them in {@link Builder#build()}.
 */
public final class Server implements AutoCloseable {
  private final Engine engine;

  private Server(Settings settings) {
    this.engine = new Engine(settings);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Binds or adopts every listener and starts accepting. Returns once all listeners accept.
   *
   * @throws java.io.UncheckedIOException if a listener cannot be bound; the ones already bound are
   *     closed again
   * @throws IllegalStateException if started twice, or if a systemd listener has no socket, finds
   *     an fd that is not a listening TCP or Unix stream socket, or has no epoll transport; see
   *     docs/SOCKET-ACTIVATION.md
   * @throws IllegalArgumentException if a systemd listener finds malformed {@code LISTEN_*}
   *     variables
   */
  public Server start() {
    engine.start();
    return this;
  }

  /** The listeners that accept connections, in the order they were configured. */
  public List<BoundListener> listeners() {
    return engine.listeners();
  }

  /**
   * Stops at once: closes the listeners and every connection, interrupts running handlers. For a
   * graceful stop see the lifecycle documentation.
   */
  @Override
  public void close() {
    engine.close();
  }

  /** Builds a {@link Server}. Every setter documents its default. */
  public static final class Builder {
    private final List<ListenerSpec> listeners = new ArrayList<>();
    private Handler handler;
    private int maxRequestLineLength = 8 * 1024;
    private int maxHeaderSize = 16 * 1024;
    private long maxBodySize = 10L * 1024 * 1024;
    private Duration readHeaderTimeout = Duration.ofSeconds(10);
    private Duration keepAliveTimeout = Duration.ofSeconds(60);
    private int ioThreads = 0;
    private int responseBufferSize = 8 * 1024;

    private Builder() {}

    /** Adds a listener written as {@link ListenerSpec} describes, e.g. {@code 127.0.0.1:8080}. */
    public Builder listen(String spec) {
      return listen(ListenerSpec.parse(spec));
    }

    public Builder listen(ListenerSpec spec) {
      listeners.add(Objects.requireNonNull(spec, "listener"));
      return this;
    }

    /** The handler for every request; usually a {@link Router}. Required. */
    public Builder handler(Handler handler) {
      this.handler = Objects.requireNonNull(handler, "handler");
      return this;
    }

    /** Longest request line (method, target, version) in bytes; longer gets 414. Default 8 KiB. */
    public Builder maxRequestLineLength(int bytes) {
      this.maxRequestLineLength = bytes;
      return this;
    }

    /** Largest request head (all header lines) in bytes; larger gets 431. Default 16 KiB. */
    public Builder maxHeaderSize(int bytes) {
      this.maxHeaderSize = bytes;
      return this;
    }

    /** Largest request body in bytes; larger gets 413. Default 10 MiB. */
    public Builder maxBodySize(long bytes) {
      this.maxBodySize = bytes;
      return this;
    }

    /**
     * How long a client may take to send a complete request head, from accept or from the first
     * byte after a keep-alive pause; then the connection is closed. Default 10s.
     */
    public Builder readHeaderTimeout(Duration timeout) {
      this.readHeaderTimeout = Objects.requireNonNull(timeout, "readHeaderTimeout");
      return this;
    }

    /** How long an idle keep-alive connection stays open. Default 60s. */
    public Builder keepAliveTimeout(Duration timeout) {
      this.keepAliveTimeout = Objects.requireNonNull(timeout, "keepAliveTimeout");
      return this;
    }

    /** Event-loop threads; 0 (the default) means one per available processor. */
    public Builder ioThreads(int threads) {
      this.ioThreads = threads;
      return this;
    }

    /**
     * Bytes a streamed response body holds before it commits; a body that fits goes out in one
     * write with Content-Length. Default 8 KiB.
     */
    public Builder responseBufferSize(int bytes) {
      this.responseBufferSize = bytes;
      return this;
    }

    /**
     * Builds the server without starting it.
     *
     * @throws IllegalArgumentException naming the option and its value when one is invalid
     * @throws IllegalStateException if no handler or no listener was given
     */
    public Server build() {
      if (handler == null) throw new IllegalStateException("handler is required");
      if (listeners.isEmpty()) throw new IllegalStateException("at least one listener is required");
      check(maxRequestLineLength >= 64, "maxRequestLineLength < 64: " + maxRequestLineLength);
      check(maxHeaderSize >= 256, "maxHeaderSize < 256: " + maxHeaderSize);
      check(maxBodySize >= 0, "maxBodySize < 0: " + maxBodySize);
      checkPositive("readHeaderTimeout", readHeaderTimeout);
      checkPositive("keepAliveTimeout", keepAliveTimeout);
      check(ioThreads >= 0, "ioThreads < 0: " + ioThreads);
      check(responseBufferSize >= 0, "responseBufferSize < 0: " + responseBufferSize);
      int threads = ioThreads > 0 ? ioThreads : Runtime.getRuntime().availableProcessors();
      return new Server(
          new Settings(
              List.copyOf(listeners),
              handler,
              maxRequestLineLength,
              maxHeaderSize,
              maxBodySize,
              readHeaderTimeout,
              keepAliveTimeout,
              threads,
              responseBufferSize));
    }

    private static void checkPositive(String name, Duration d) {
      check(!d.isNegative() && !d.isZero(), name + " <= 0: " + Durations.format(d));
    }

    private static void check(boolean ok, String message) {
      if (!ok) throw new IllegalArgumentException(message);
    }
  }
}
