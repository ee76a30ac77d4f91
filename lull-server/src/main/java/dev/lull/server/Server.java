package dev.lull.server;

import dev.lull.core.ActivityTracker;
import dev.lull.core.ConnectionListener;
import dev.lull.core.Context;
import dev.lull.core.Durations;
import dev.lull.core.Lifecycle;
import dev.lull.core.LifecycleListener;
import dev.lull.core.Scheduler;
import dev.lull.core.Signals;
import dev.lull.core.StopReason;
import dev.lull.core.Termination;
import dev.lull.core.Ticker;
import dev.lull.server.internal.Engine;
import dev.lull.server.internal.ServerEngines;
import dev.lull.server.internal.Settings;
import dev.lull.server.internal.admin.AdminAccess;
import dev.lull.server.internal.admin.AdminPlane;
import dev.lull.server.internal.admin.SystemdNotifier;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * An HTTP/1.1 server whose handlers run on virtual threads, that can exit by itself when idle and
 * stops gracefully.
 *
 * <pre>{@code
 * Server.builder()
 *     .listen("systemd", "127.0.0.1:8080")      // systemd's sockets if it passed any, else this
 *     .handler((req, res) -> res.send("hello\n"))
 *     .idleTimeout(Duration.ofSeconds(30))
 *     .build()
 *     .start()
 *     .stopOnSignals()
 *     .awaitTermination();
 * }</pre>
 *
 * <p>Its life is one state machine, {@link Lifecycle} ({@code STARTING -> RUNNING -> DRAINING ->
 * STOPPING -> TERMINATED}); see docs/LIFECYCLE.md. Every limit and timeout has a default that suits
 * a server facing the internet; the builder validates them in {@link Builder#build()}.
 */
public final class Server implements AutoCloseable {
  private final Engine engine;
  private final ServerEngines engines;
  private final ActivityTracker tracker;
  private final Lifecycle lifecycle;
  private final Supplier<AdminPlane> adminFactory;
  private final Object adminLock = new Object();
  private volatile AdminPlane admin; // made on first use; see the constructor
  private Signals.Installation signals;

  private Server(Settings settings, Builder b) {
    this.tracker =
        ActivityTracker.builder()
            .ticker(b.ticker)
            .scheduler(b.scheduler)
            .idleTimeout(b.idleTimeout)
            .build();
    for (ConnectionListener l : b.connectionListeners) tracker.addConnectionListener(l);
    this.engine = new Engine(settings, tracker);
    this.engines = new ServerEngines(engine);
    Lifecycle.Builder lb =
        Lifecycle.builder(engines, tracker)
            .stopTimeout(b.stopTimeout)
            .killTimeout(b.killTimeout)
            .drainDelay(b.drainDelay);
    for (LifecycleListener l : b.lifecycleListeners) lb.listener(l);
    this.lifecycle = lb.build();
    // The admin plane (a Prometheus registry, the JVM's meters, the admin routes) loads a few
    // hundred classes: it is made now only if something needs it from the start, an admin listener
    // or the application's own registry; otherwise on the first call of meterRegistry(), if any.
    // Requests are timed only when someone can read the figures: an admin listener serves
    // /metrics, or the application passed its own registry. A timer with a percentile histogram on
    // every request is not free (the benchmark in docs/BENCHMARKS.md).
    PrometheusMeterRegistry registry = b.meterRegistry;
    Map<String, ReadinessCheck> checks = new LinkedHashMap<>(b.readinessChecks);
    this.adminFactory =
        () -> {
          PrometheusMeterRegistry r =
              registry != null ? registry : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
          // lull_event_loop_holds_total: requests whose handler held an event loop over 10 ms in
          // one stretch (ADR 0004); they finished on the shared scheduler.
          FunctionCounter.builder("lull.event.loop.holds", engine, Engine::loopHolds)
              .description("Requests whose handler held an event loop over 10 ms in one stretch")
              .register(r);
          // lull_accept_pauses_total: times the connection limit paused accepting.
          FunctionCounter.builder("lull.accept.pauses", engine, Engine::acceptPauses)
              .description("Times accepting paused because the connection limit was reached")
              .register(r);
          return AdminPlane.builder(lifecycle)
              .registry(r)
              .listeners(engine::listeners)
              .inFlight(engine::inFlight)
              .liveness(engine::probeEventLoops)
              .readinessChecks(checks)
              .build();
        };
    if (b.admin != null || b.meterRegistry != null) {
      AdminPlane plane = admin();
      engine.requestMetrics(plane.requestMetrics());
    }
    if (b.admin != null) {
      // The admin listener has its own engine and tracker: its connections never keep the server
      // awake nor delay its drain, and it is released last.
      Settings adminSettings =
          new Settings(
              List.of(b.admin),
              admin().router(),
              8 * 1024,
              16 * 1024,
              64 * 1024,
              Duration.ofSeconds(10),
              Duration.ofSeconds(10),
              Duration.ofSeconds(60),
              1,
              8 * 1024,
              Duration.ZERO,
              true,
              Duration.ofMillis(500),
              Context.root(Ticker.system(), Scheduler.system()),
              // Scrapes read MXBeans and the status page renders HTML: they hold no event loop.
              Scheduling.SHARED,
              // No limit: health checks and scrapes must get through while the server is full.
              0);
      engines.admin(
          new Engine(adminSettings, ActivityTracker.builder().build()), admin(), b.adminPublic);
    }
    if (b.systemdNotify) SystemdNotifier.install(lifecycle, engine::probeEventLoops);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Binds or adopts every listener and starts accepting; returns once all listeners accept. The
   * idle countdown (if {@code idleTimeout} is set) starts now.
   *
   * @throws java.io.UncheckedIOException if a listener cannot be bound; the ones already bound are
   *     closed again and the server is terminated
   * @throws IllegalStateException if started twice or after a stop, or if a systemd listener has no
   *     socket
   */
  public Server start() {
    lifecycle.start();
    return this;
  }

  /**
   * Makes SIGTERM and SIGINT stop this server gracefully (a second one stops it at once); SIGQUIT
   * stays the JVM's thread dump. Pair with {@link #awaitTermination()} and {@code
   * System.exit(termination.exitCode())}, so that the process exits 0 after a graceful stop.
   */
  public synchronized Server stopOnSignals() {
    if (signals == null) signals = Signals.install(lifecycle);
    return this;
  }

  /** The listeners that accept connections, in the order they were configured. */
  public List<BoundListener> listeners() {
    return engine.listeners();
  }

  /** The admin listener, once started, if one was configured ({@link Builder#admin(String)}). */
  public List<BoundListener> adminListeners() {
    return engines.adminListeners();
  }

  /**
   * The registry that {@code GET /metrics} on the admin listener scrapes: Lull's own meters (see
   * docs/ADMIN.md), the JVM's, and any the application adds.
   */
  public MeterRegistry meterRegistry() {
    return admin().registry();
  }

  /** Whether the admin plane has been made, for tests of this package. */
  boolean adminPlaneMade() {
    return admin != null;
  }

  /** The admin plane, made on the first call (its resources are freed when the server is). */
  private AdminPlane admin() {
    AdminPlane a = admin;
    if (a != null) return a;
    synchronized (adminLock) {
      if (admin == null) {
        a = adminFactory.get();
        engines.plane(a);
        admin = a;
      }
      return admin;
    }
  }

  /** The engine, for tests of this package (cancellation counters). */
  Engine engine() {
    return engine;
  }

  /** The state machine of this server: phase, readiness, listeners for its transitions. */
  public Lifecycle lifecycle() {
    return lifecycle;
  }

  /** Counts of connections by state and of tracked work; where background work registers. */
  public ActivityTracker activity() {
    return tracker;
  }

  /**
   * Starts a graceful stop (reason {@code api}) and returns at once; see {@link Lifecycle}.
   * Idempotent, safe from any thread, before {@link #start()} too.
   *
   * @return completed when the server has terminated
   */
  public CompletableFuture<Termination> stop() {
    return lifecycle.stop(StopReason.API);
  }

  /** As {@link #stop()}, waiting {@code stopTimeout} for in-flight work instead of the default. */
  public CompletableFuture<Termination> stop(Duration stopTimeout) {
    return lifecycle.stop(StopReason.API, stopTimeout);
  }

  /** Stops at once: cancels what runs and closes every connection. */
  public CompletableFuture<Termination> stopNow() {
    return lifecycle.stopNow(StopReason.API);
  }

  /** Blocks until the server has terminated, by a stop, a signal or the idle timer. */
  public Termination awaitTermination() throws InterruptedException {
    return lifecycle.awaitTermination();
  }

  /** Blocks up to {@code timeout}; empty if the server has not terminated by then. */
  public Optional<Termination> awaitTermination(Duration timeout) throws InterruptedException {
    return lifecycle.awaitTermination(timeout);
  }

  /** Runs {@code hook} once the server has terminated (at once if it has). */
  public Server onTerminated(Consumer<Termination> hook) {
    lifecycle.onTerminated(hook);
    return this;
  }

  /** Stops at once and waits until the server has terminated. */
  @Override
  public void close() {
    stopNow().join();
    synchronized (this) {
      if (signals != null) {
        try {
          signals.close();
        } catch (Exception e) {
          // restoring the JVM's handlers is best effort
        }
      }
    }
  }

  /** Builds a {@link Server}. Every setter documents its default. */
  public static final class Builder {
    private final List<ListenerSpec> listeners = new ArrayList<>();
    private Handler handler;
    private int maxRequestLineLength = 8 * 1024;
    private int maxHeaderSize = 16 * 1024;
    private int maxConnections;
    private long maxBodySize = 10L * 1024 * 1024;
    private Duration readHeaderTimeout = Duration.ofSeconds(10);
    private Duration readBodyTimeout = Duration.ofSeconds(30);
    private Duration keepAliveTimeout = Duration.ofSeconds(60);
    private int ioThreads = 0;
    private int responseBufferSize = 8 * 1024;
    private Duration idleTimeout = Duration.ZERO;
    private Duration stopTimeout = Lifecycle.DEFAULT_STOP_TIMEOUT;
    private Duration killTimeout = Lifecycle.DEFAULT_KILL_TIMEOUT;
    private Duration drainDelay = Lifecycle.DEFAULT_DRAIN_DELAY;
    private Duration lameDuckIdleGrace = Duration.ofMillis(500);
    private Duration requestTimeout = Duration.ZERO;
    private boolean interruptOnCancel = true;
    private Scheduling scheduling = Scheduling.EVENT_LOOP;
    private Context baseContext;
    private Ticker ticker = Ticker.system();
    private Scheduler scheduler = Scheduler.system();
    private final List<ConnectionListener> connectionListeners = new ArrayList<>();
    private final List<LifecycleListener> lifecycleListeners = new ArrayList<>();
    private ListenerSpec admin;
    private boolean adminPublic;
    private final Map<String, ReadinessCheck> readinessChecks = new LinkedHashMap<>();
    private PrometheusMeterRegistry meterRegistry;
    private boolean systemdNotify = true;

    private Builder() {}

    /**
     * Serves the admin plane on its own listener: {@code GET /livez}, {@code /readyz}, {@code
     * /metrics} (Prometheus), {@code /status} (an HTML page) and {@code /status.json}; see
     * docs/ADMIN.md. Written as {@link ListenerSpec} describes, e.g. {@code 127.0.0.1:9090} or
     * {@code systemd:admin}. It must be on a loopback address or a Unix socket unless {@link
     * #adminPublic(boolean)} allows otherwise: the admin plane has no authentication. It stays up
     * until the very end of a stop. Default: none.
     */
    public Builder admin(String spec) {
      return admin(ListenerSpec.parse(spec));
    }

    /** As {@link #admin(String)}. */
    public Builder admin(ListenerSpec spec) {
      this.admin = Objects.requireNonNull(spec, "admin");
      return this;
    }

    /**
     * Allows the admin listener on an address other hosts can reach (a wildcard or a public
     * address). Default false: such an admin listener is refused.
     */
    public Builder adminPublic(boolean allow) {
      this.adminPublic = allow;
      return this;
    }

    /**
     * Adds a check that {@code GET /readyz} runs while the server is running: it answers 503 while
     * any check fails (see {@link ReadinessCheck}), and from the first instant of a stop
     * regardless.
     *
     * @throws IllegalArgumentException if {@code name} is blank or already used
     */
    public Builder readinessCheck(String name, ReadinessCheck check) {
      Objects.requireNonNull(check, "check");
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("readiness check name is blank: \"" + name + "\"");
      }
      if (readinessChecks.putIfAbsent(name, check) != null) {
        throw new IllegalArgumentException("duplicate readiness check: " + name);
      }
      return this;
    }

    /** The registry Lull records into and {@code /metrics} scrapes. Default: a new one. */
    public Builder meterRegistry(PrometheusMeterRegistry registry) {
      this.meterRegistry = Objects.requireNonNull(registry, "meterRegistry");
      return this;
    }

    /**
     * Whether to tell systemd READY=1, STOPPING=1, STATUS and watchdog pings when started by it
     * with {@code NOTIFY_SOCKET} (only the first server of a process does). Default true.
     */
    public Builder systemdNotify(boolean notify) {
      this.systemdNotify = notify;
      return this;
    }

    /**
     * Adds the first of {@code specs} that can be used: {@code systemd} (or {@code systemd:NAME})
     * only when systemd passed sockets to this process. {@code listen("systemd", "127.0.0.1:8080")}
     * serves systemd's sockets under socket activation and the address otherwise.
     */
    public Builder listen(String first, String... fallbacks) {
      List<String> all = new ArrayList<>();
      all.add(first);
      all.addAll(List.of(fallbacks));
      for (String text : all) {
        ListenerSpec spec = ListenerSpec.parse(text);
        if (spec.kind() != ListenerSpec.Kind.SYSTEMD
            || !dev.lull.core.SocketActivation.inherited().fds().isEmpty()) {
          return listen(spec);
        }
      }
      throw new IllegalArgumentException(
          "no systemd sockets were passed and no other listener was given: " + all);
    }

    /**
     * Exit when idle: after this long with no connection NEW, ACTIVE or HIJACKED and no tracked
     * work, the server stops gracefully with reason {@code idle}. Idle keep-alive connections do
     * not keep it awake. Default {@link Duration#ZERO}: off.
     */
    public Builder idleTimeout(Duration timeout) {
      this.idleTimeout = Objects.requireNonNull(timeout, "idleTimeout");
      return this;
    }

    /**
     * How long a graceful stop waits for in-flight requests and work; then they are cancelled.
     * Default 20s; {@link Duration#ZERO} waits forever.
     */
    public Builder stopTimeout(Duration timeout) {
      this.stopTimeout = Objects.requireNonNull(timeout, "stopTimeout");
      return this;
    }

    /** After cancelling, how long before the remaining connections are force-closed. Default 5s. */
    public Builder killTimeout(Duration timeout) {
      this.killTimeout = Objects.requireNonNull(timeout, "killTimeout");
      return this;
    }

    /**
     * How long a stop keeps serving normally after readiness turned 503, so load balancers notice
     * before anything closes. Default 0.
     */
    public Builder drainDelay(Duration delay) {
      this.drainDelay = Objects.requireNonNull(delay, "drainDelay");
      return this;
    }

    /**
     * In lame duck, an idle keep-alive connection is closed once it has been idle this long,
     * counted from the later of its last response and the start of lame duck; a request that
     * arrives meanwhile is served with {@code Connection: close}. This keeps the close from racing
     * a request already on its way; it also bounds how long idle connections make a drain last.
     * Default 500ms.
     */
    public Builder lameDuckIdleGrace(Duration grace) {
      this.lameDuckIdleGrace = Objects.requireNonNull(grace, "lameDuckIdleGrace");
      return this;
    }

    /**
     * Deadline of every request, from the start of its handler: then its context is cancelled
     * ({@code DEADLINE_EXCEEDED}) and the client gets 503 if no response started, or the connection
     * is closed. Routes can set their own. Default {@link Duration#ZERO}: none.
     */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = Objects.requireNonNull(timeout, "requestTimeout");
      return this;
    }

    /**
     * Whether a cancelled request's handler thread is interrupted (so sleeps, blocking reads and
     * waits return at once). Default true; routes can override.
     */
    public Builder interruptOnCancel(boolean interrupt) {
      this.interruptOnCancel = interrupt;
      return this;
    }

    /**
     * Which threads carry the handlers' virtual threads: {@link Scheduling#EVENT_LOOP} (the
     * default, where this JVM allows it) or {@link Scheduling#SHARED}. Routes can choose their own
     * with {@link RouteOptions.Builder#scheduling(Scheduling)}.
     */
    public Builder scheduling(Scheduling scheduling) {
      this.scheduling = Objects.requireNonNull(scheduling, "scheduling");
      return this;
    }

    /**
     * The context every request's context derives its values from (as Go's {@code BaseContext}).
     * Its cancellation does not reach requests. Default: an empty context on the server's clock.
     */
    public Builder baseContext(Context context) {
      this.baseContext = Objects.requireNonNull(context, "baseContext");
      return this;
    }

    /** The clock of the idle timer and the lifecycle's timeouts; tests pass a manual one. */
    public Builder clock(Ticker ticker, Scheduler scheduler) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** Adds a listener of connection state changes; see {@link ConnectionListener}. */
    public Builder connectionListener(ConnectionListener listener) {
      connectionListeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /** Adds a listener of lifecycle transitions, with durations and counts. */
    public Builder lifecycleListener(LifecycleListener listener) {
      lifecycleListeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

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

    /**
     * How long a request body may make no progress: when no byte of it arrives for this long while
     * the server is ready to read it (not counting time the handler leaves the body unread, nor a
     * client waiting for {@code 100 Continue}), the body fails, the handler's read throws, the
     * client gets {@code 408} if no response has started, and the connection closes. The rest of a
     * body the server drops after its response (to keep the connection) must arrive within this
     * time in all. Like nginx's {@code client_body_timeout}: it bounds the pause between bytes, not
     * the whole body (a client that sends one byte in time keeps the request going; use a request
     * timeout for the whole). Default 30s; {@link Duration#ZERO} means none.
     */
    public Builder readBodyTimeout(Duration timeout) {
      this.readBodyTimeout = Objects.requireNonNull(timeout, "readBodyTimeout");
      return this;
    }

    /** How long an idle keep-alive connection stays open. Default 60s. */
    public Builder keepAliveTimeout(Duration timeout) {
      this.keepAliveTimeout = Objects.requireNonNull(timeout, "keepAliveTimeout");
      return this;
    }

    /**
     * Most connections open at once on the server's listeners together (the admin listener is not
     * counted and never paused). At the limit Lull stops accepting: new connections wait in the
     * kernel's accept queue (backlog 1024; beyond it the kernel drops their SYNs and clients retry)
     * until a connection closes, as Jetty's {@code ConnectionLimit} and Go's {@code
     * netutil.LimitListener} do; nothing is accepted and then refused. Idle keep-alive connections
     * count, so set {@link #keepAliveTimeout} to match. 0 (the default) means no limit: the
     * process's file descriptor limit is the bound.
     */
    public Builder maxConnections(int connections) {
      this.maxConnections = connections;
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
      checkNotNegative("readBodyTimeout", readBodyTimeout);
      checkPositive("keepAliveTimeout", keepAliveTimeout);
      check(ioThreads >= 0, "ioThreads < 0: " + ioThreads);
      check(maxConnections >= 0, "maxConnections < 0: " + maxConnections);
      check(responseBufferSize >= 0, "responseBufferSize < 0: " + responseBufferSize);
      checkNotNegative("idleTimeout", idleTimeout);
      checkNotNegative("stopTimeout", stopTimeout);
      checkNotNegative("killTimeout", killTimeout);
      checkNotNegative("drainDelay", drainDelay);
      checkNotNegative("lameDuckIdleGrace", lameDuckIdleGrace);
      checkNotNegative("requestTimeout", requestTimeout);
      if (admin != null) AdminAccess.check(admin, adminPublic);
      int threads = ioThreads > 0 ? ioThreads : Runtime.getRuntime().availableProcessors();
      Context base = baseContext != null ? baseContext : Context.root(ticker, scheduler);
      return new Server(
          new Settings(
              List.copyOf(listeners),
              handler,
              maxRequestLineLength,
              maxHeaderSize,
              maxBodySize,
              readHeaderTimeout,
              readBodyTimeout,
              keepAliveTimeout,
              threads,
              responseBufferSize,
              requestTimeout,
              interruptOnCancel,
              lameDuckIdleGrace,
              base,
              scheduling,
              maxConnections),
          this);
    }

    private static void checkNotNegative(String name, Duration d) {
      check(!d.isNegative(), name + " < 0: " + Durations.format(d));
    }

    private static void checkPositive(String name, Duration d) {
      check(!d.isNegative() && !d.isZero(), name + " <= 0: " + Durations.format(d));
    }

    private static void check(boolean ok, String message) {
      if (!ok) throw new IllegalArgumentException(message);
    }
  }
}
