package dev.lull.server.internal;

import dev.lull.core.ActivityTracker;
import dev.lull.core.CancellationCause;
import dev.lull.core.ConnectionState;
import dev.lull.core.spi.Drainable;
import dev.lull.server.BoundListener;
import dev.lull.server.ListenerSpec;
import dev.lull.server.Scheduling;
import dev.lull.server.internal.admin.InFlight;
import dev.lull.server.internal.admin.RequestMetrics;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.AttributeKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** The Netty side of a server: event loops, listeners, connections. */
public final class Engine implements Drainable {
  private static final System.Logger LOG = System.getLogger("dev.lull.server");

  final Settings settings;
  final Transport transport = Transport.best();

  /** Where handler threads run unless their route says otherwise; see {@link Carriers}. */
  final Scheduling scheduling;

  /** Runs a request's onCancel callbacks when the cancellation comes from an event loop. */
  final ThreadFactory cancelThreads = Thread.ofVirtual().name("lull-cancel-", 0).factory();

  private final LongAdder[] cancellations = new LongAdder[CancellationCause.values().length];
  final Set<HttpConnection> connections = ConcurrentHashMap.newKeySet();
  final long readHeaderTimeoutNanos;
  final long readBodyTimeoutNanos; // 0: none
  final long keepAliveTimeoutNanos;
  final long lameDuckIdleGraceNanos;
  private final Object lock = new Object();
  private volatile EventLoopGroup group; // written under lock; read by probeEventLoops
  private final List<Channel> serverChannels = new ArrayList<>();
  private final List<BoundListener> bound = new ArrayList<>();
  private final List<Path> ownedSocketFiles = new ArrayList<>();
  private boolean started;
  private boolean closed;

  /** Once true, every response closes its connection (lame duck). */
  volatile boolean draining;

  /** When lame duck began ({@link System#nanoTime()}); written before {@link #draining}. */
  volatile long lameDuckSince;

  /** Once true, requests not started yet are refused with 503: the stop timeout has expired. */
  volatile boolean stopping;

  final ActivityTracker tracker;
  private final AtomicLong connectionIds = new AtomicLong();
  private volatile RequestMetrics requestMetrics; // null: not recorded
  static final AttributeKey<Long> CONNECTION_ID = AttributeKey.valueOf("lull.connectionId");

  public Engine(Settings settings, ActivityTracker tracker) {
    this.settings = settings;
    this.tracker = tracker;
    this.scheduling = Carriers.effective(settings.scheduling());
    this.readHeaderTimeoutNanos = settings.readHeaderTimeout().toNanos();
    this.readBodyTimeoutNanos = settings.readBodyTimeout().toNanos();
    this.keepAliveTimeoutNanos = settings.keepAliveTimeout().toNanos();
    this.lameDuckIdleGraceNanos = settings.lameDuckIdleGrace().toNanos();
    for (int i = 0; i < cancellations.length; i++) cancellations[i] = new LongAdder();
  }

  /**
   * How long one stretch of a handler (from a start or an unpark to the next park) may run on an
   * event loop before the rest of its request moves to the shared scheduler: Go preempts a
   * goroutine after the same 10 ms. Wall time: on an overloaded machine a stretch the OS preempted
   * counts too, and the only effect is that the rest of that request runs on the shared scheduler.
   */
  static final long LOOP_HOLD_LIMIT_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  private final LongAdder loopHolds = new LongAdder();
  private final ConcurrentHashMap<String, Integer> loopHoldsByRoute = new ConcurrentHashMap<>();

  /**
   * Event loop: {@code ex}'s handler held it for {@code nanos}. Counted; the second time a route
   * does it, it is named in a log line (once: the first time may be a cold start loading classes).
   */
  void loopHeld(Exchange ex, long nanos) {
    loopHolds.increment();
    String route = ex.request.method().name() + " " + (ex.route != null ? ex.route : "(no route)");
    if (loopHoldsByRoute.size() >= 1000 && !loopHoldsByRoute.containsKey(route)) return;
    if (loopHoldsByRoute.merge(route, 1, Integer::sum) == 2) {
      // INFO, not WARNING: on an overloaded machine the OS preempting the loop looks the same.
      LOG.log(
          System.Logger.Level.INFO,
          route
              + " held an event loop for "
              + TimeUnit.NANOSECONDS.toMillis(nanos)
              + " ms (the second of its requests to hold one over 10 ms); such requests finish on"
              + " the shared scheduler. Give the route RouteOptions.scheduling(SHARED) if it"
              + " computes, reads files or runs processes.");
    }
  }

  /**
   * How many requests held an event loop longer than 10 ms in one stretch (and then moved to the
   * shared scheduler) since the engine was made. Any thread; cheap.
   */
  public long loopHolds() {
    return loopHolds.sum();
  }

  /** Any thread: a request was cancelled with {@code why} (counted once per request). */
  void countCancelled(CancellationCause why) {
    cancellations[why.ordinal()].increment();
    RequestMetrics m = requestMetrics;
    if (m != null) m.cancelled(why);
  }

  /**
   * How many requests this engine cancelled with {@code cause} since it was made: clients that went
   * away, deadlines, the stop timeout. A cancellation by the application itself ({@code CANCELLED},
   * through the context) is not the engine's and stays 0. Any thread; cheap.
   */
  public long cancellations(CancellationCause cause) {
    return cancellations[cause.ordinal()].sum();
  }

  @Override
  public void start() {
    synchronized (lock) {
      if (started) throw new IllegalStateException("already started");
      if (closed) throw new IllegalStateException("closed");
      started = true;
      group = transport.newGroup(settings.ioThreads(), "lull-io");
      try {
        for (ListenerSpec spec : settings.listeners()) {
          switch (spec.kind()) {
            case TCP -> bindTcp(spec);
            case UNIX -> bindUnix(spec);
            case SYSTEMD -> adoptSystemd(spec);
          }
        }
      } catch (RuntimeException e) {
        // The event loops are gone: a later close() must not close the listeners on them again.
        closed = true;
        closeNow();
        throw e;
      }
    }
  }

  public List<BoundListener> listeners() {
    synchronized (lock) {
      return List.copyOf(bound);
    }
  }

  /** Where completed and cancelled requests are counted from now on; null for nowhere. */
  public void requestMetrics(RequestMetrics metrics) {
    this.requestMetrics = metrics;
  }

  /** Event loop: {@code ex} is complete with {@code status} (0: no response was started). */
  void countRequest(Exchange ex, int status) {
    RequestMetrics m = requestMetrics;
    if (m == null || status == 0) return;
    m.record(ex.request.method().name(), ex.route, status, System.nanoTime() - ex.startNanos);
  }

  /** Any thread: a request was cancelled. */

  /**
   * Submits a no-op to every event loop; the future completes once each has run it (at once before
   * the engine started), exceptionally if one refused it (shut down). For {@code /livez} and the
   * systemd watchdog.
   */
  public CompletableFuture<Void> probeEventLoops() {
    EventLoopGroup g = group; // not under lock: start() holds it while binding
    if (g == null) return CompletableFuture.completedFuture(null);
    List<CompletableFuture<Void>> answers = new ArrayList<>();
    for (io.netty.util.concurrent.EventExecutor loop : g) {
      CompletableFuture<Void> answered = new CompletableFuture<>();
      try {
        loop.execute(() -> answered.complete(null));
      } catch (RejectedExecutionException e) {
        answered.completeExceptionally(e);
      }
      answers.add(answered);
    }
    return CompletableFuture.allOf(answers.toArray(new CompletableFuture<?>[0]));
  }

  /** The requests whose handlers run now, for the status page. Any thread; approximate. */
  public List<InFlight> inFlight() {
    long now = System.nanoTime();
    List<InFlight> list = new ArrayList<>();
    for (HttpConnection c : connections) {
      Exchange ex = c.running();
      if (ex == null || ex.errorStatus != null) continue;
      String uri = ex.request.uri();
      int q = uri.indexOf('?');
      list.add(
          new InFlight(
              c.id(),
              ex.request.method().name(),
              q < 0 ? uri : uri.substring(0, q),
              c.listenerName,
              Duration.ofNanos(Math.max(0, now - ex.startNanos))));
    }
    return list;
  }

  private void bindTcp(ListenerSpec spec) {
    InetSocketAddress address =
        spec.host().isEmpty()
            ? new InetSocketAddress(spec.port())
            : new InetSocketAddress(spec.host(), spec.port());
    if (address.isUnresolved()) {
      throw new IllegalArgumentException("unknown host in listener \"" + spec + "\"");
    }
    String name = spec.name().orElseThrow();
    Channel ch = bind(bootstrap(name, true).channel(transport.tcpServerChannel()), address, spec);
    register(ch, new BoundListener(name, ch.localAddress(), false));
  }

  private void bindUnix(ListenerSpec spec) {
    Path path = spec.path().toAbsolutePath();
    try {
      // Replace a stale socket file left by an earlier run; never delete anything else.
      BasicFileAttributes attrs =
          Files.readAttributes(
              path, BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
      if (attrs.isOther()) Files.delete(path);
    } catch (java.nio.file.NoSuchFileException ignored) {
      // nothing to replace
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot replace socket file " + path + ": " + e.getMessage(), e);
    }
    String name = spec.name().orElseThrow();
    Channel ch =
        bind(
            bootstrap(name, false).channel(transport.unixServerChannel()),
            new DomainSocketAddress(path.toString()),
            spec);
    ownedSocketFiles.add(path);
    register(ch, new BoundListener(name, UnixDomainSocketAddress.of(path), false));
  }

  /**
   * Serves the sockets systemd passed that {@code spec} selects. They are bound and listening
   * already, so the channel is only registered with the event loops, never bound; closing it closes
   * our fd only (systemd keeps its own copy and the kernel keeps queueing connections for the next
   * instance), and nothing adds its path to {@link #ownedSocketFiles}.
   */
  private void adoptSystemd(ListenerSpec spec) {
    for (SystemdSockets.Inherited socket : SystemdSockets.select(spec, transport.isEpoll())) {
      String name = spec.name().orElse(socket.fd().name());
      ServerChannel adopted = socket.newChannel();
      ChannelFuture registered =
          bootstrap(name, socket.family() == SystemdSockets.Family.TCP)
              .channelFactory((ChannelFactory<ServerChannel>) () -> adopted)
              .register()
              .awaitUninterruptibly();
      if (!registered.isSuccess()) {
        throw new IllegalStateException(
            "listener \""
                + spec
                + "\": cannot serve systemd socket "
                + socket.fd()
                + ": "
                + registered.cause(),
            registered.cause());
      }
      register(adopted, new BoundListener(name, socket.address(), true));
    }
  }

  private Channel bind(ServerBootstrap b, SocketAddress address, ListenerSpec spec) {
    try {
      return b.bind(address).syncUninterruptibly().channel();
    } catch (Exception e) {
      throw new UncheckedIOException(
          new IOException("cannot listen on " + spec + ": " + e.getMessage(), e));
    }
  }

  void register(Channel ch, BoundListener listener) {
    serverChannels.add(ch);
    bound.add(listener);
  }

  ServerBootstrap bootstrap(String listenerName, boolean tcp) {
    ServerBootstrap b =
        new ServerBootstrap()
            .group(group)
            .option(ChannelOption.SO_BACKLOG, 1024)
            .handler(acceptCounter)
            .childHandler(
                new ChannelInitializer<>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    HttpConnection conn = new HttpConnection(Engine.this, listenerName);
                    ch.pipeline()
                        .addLast("activity", conn.activityHandler())
                        .addLast("codec", conn.codec())
                        .addLast("http", conn);
                  }
                });
    if (tcp) b.childOption(ChannelOption.TCP_NODELAY, true);
    // A client that shuts down its output after a request still gets the response; HalfClose tells
    // a half-close from a close (docs/LIFECYCLE.md, Cancellation). Only on epoll, where the kernel
    // can be asked (TCP_INFO; on a Unix socket a write fails at once); on NIO the end of input
    // still closes the connection.
    if (transport.isEpoll()) b.childOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    return b;
  }

  /**
   * Counts a connection at the moment of accept, on the listener's event loop, before it is handed
   * to its own event loop: an idle exit can never race a connection that was accepted.
   */
  private final ChannelInboundHandlerAdapter acceptCounter = new AcceptCounter();

  @io.netty.channel.ChannelHandler.Sharable
  private final class AcceptCounter extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Channel child) {
        long id = connectionIds.incrementAndGet();
        child.attr(CONNECTION_ID).set(id);
        tracker.connectionStateChanged(id, null, ConnectionState.NEW);
        if (settings.maxConnections() > 0) {
          child.closeFuture().addListener(f -> connectionClosed());
          if (openConnections.incrementAndGet() >= settings.maxConnections()) updateAccepting();
        }
      }
      ctx.fireChannelRead(msg);
    }
  }

  // ------------------------------------------------------------------ connection limit

  /** Connections accepted and not closed yet; counted only with a connection limit. */
  private final AtomicInteger openConnections = new AtomicInteger();

  private final Object acceptLock = new Object();
  private boolean acceptPaused; // under acceptLock
  private final LongAdder acceptPauses = new LongAdder();

  private void connectionClosed() {
    if (openConnections.decrementAndGet() < settings.maxConnections()) updateAccepting();
  }

  /**
   * Pauses accepting on every listener when the limit is reached and resumes when a connection has
   * closed, deciding from the current count under a lock so that a pause and a resume racing each
   * other end in the state the count says. A paused listener reads no more accepts (its server
   * channel's autoRead is off: epoll stops watching it, and the accept batch in progress stops
   * after the connection that reached the limit); the kernel keeps queueing connections.
   */
  private void updateAccepting() {
    boolean first;
    synchronized (acceptLock) {
      boolean pause = openConnections.get() >= settings.maxConnections();
      if (pause == acceptPaused) return;
      acceptPaused = pause;
      List<Channel> listening;
      synchronized (lock) {
        listening = List.copyOf(serverChannels);
      }
      for (Channel ch : listening) ch.config().setAutoRead(!pause);
      if (!pause) return;
      acceptPauses.increment();
      first = acceptPauses.sum() == 1;
    }
    if (first) {
      LOG.log(
          System.Logger.Level.INFO,
          "connection limit reached ("
              + settings.maxConnections()
              + " open): not accepting until a connection closes; new connections wait in the"
              + " kernel's accept queue (said once; lull_accept_pauses_total counts each time)");
    }
  }

  /** How many times accepting paused at the connection limit. Any thread; cheap. */
  public long acceptPauses() {
    return acceptPauses.sum();
  }

  // ------------------------------------------------------------------ Drainable

  @Override
  public void stopAccepting() {
    List<Channel> listening;
    synchronized (lock) {
      listening = List.copyOf(serverChannels);
      serverChannels.clear();
    }
    // Closes our copy of each socket; for a systemd socket the kernel keeps queueing connections
    // on systemd's copy for the next instance.
    for (Channel ch : listening) ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  @Override
  public void enterLameDuck() {
    lameDuckSince = System.nanoTime();
    draining = true;
    for (HttpConnection c : connections) c.channel.eventLoop().execute(c::enterLameDuck);
  }

  @Override
  public int cancelInFlight() {
    stopping = true;
    int n = 0;
    for (HttpConnection c : connections) {
      if (c.cancelRunning(CancellationCause.SERVER_STOPPING)) n++;
    }
    return n;
  }

  @Override
  public int forceClose() {
    stopping = true;
    if (!draining) lameDuckSince = System.nanoTime();
    draining = true;
    List<io.netty.channel.ChannelFuture> closes = new ArrayList<>();
    for (HttpConnection c : connections) {
      // Only those still open count: one closing by itself at this instant was not cut.
      if (c.channel.isOpen()) closes.add(c.forceClose());
    }
    for (io.netty.channel.ChannelFuture f : closes) f.awaitUninterruptibly(2, TimeUnit.SECONDS);
    return closes.size();
  }

  @Override
  public void release() {
    synchronized (lock) {
      if (closed) return;
      closed = true;
      closeNow();
    }
  }

  /** Closes listeners and connections at once and stops the event loops. */
  public void close() {
    synchronized (lock) {
      if (closed) return;
      closed = true;
      closeNow();
    }
  }

  private void closeNow() {
    for (Channel ch : serverChannels) ch.close().syncUninterruptibly();
    serverChannels.clear();
    for (HttpConnection c : connections) c.forceClose();
    for (Path p : ownedSocketFiles) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException e) {
        LOG.log(System.Logger.Level.DEBUG, "cannot delete socket file " + p, e);
      }
    }
    if (group != null) group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
