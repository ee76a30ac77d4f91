package dev.lull.server.internal.admin;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Sends {@code sd_notify(3)} messages — {@code READY=1}, {@code STATUS=...}, {@code STOPPING=1},
 * {@code EXTEND_TIMEOUT_USEC=...}, {@code WATCHDOG=1} — to the service manager's datagram socket
 * named by {@code NOTIFY_SOCKET}: a filesystem path ({@code /run/systemd/notify}) or, with a
 * leading {@code @}, a name in the abstract namespace.
 *
 * <p>The JDK cannot send on {@code AF_UNIX} datagram sockets, so this uses Netty's native epoll
 * transport ({@link EpollDomainDatagramChannel}) on one small daemon event loop of its own, named
 * {@code lull-notify}; no JNA, no JNI of ours. Linux only, which is where systemd is.
 *
 * <p>Notifying is best effort: a message that cannot be sent (no epoll, no socket, a full queue) is
 * logged once at WARNING — later failures at DEBUG — and {@link #send} returns false; it never
 * throws. Messages sent from one thread arrive in the order sent. Thread-safe.
 */
public final class SdNotify implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.lull.systemd");
  private static final long SEND_TIMEOUT_MILLIS = 1_000;

  private final String address;
  private final DomainSocketAddress target;
  private final Object lock = new Object();
  private final AtomicBoolean failureLogged = new AtomicBoolean();
  private EventLoopGroup group; // guarded by lock, made on the first send
  private Channel channel; // guarded by lock
  private String unavailable; // guarded by lock: why no channel can be made
  private boolean closed; // guarded by lock

  private SdNotify(String address, DomainSocketAddress target) {
    this.address = address;
    this.target = target;
  }

  /**
   * A sender to {@code notifySocket}, a value of {@code NOTIFY_SOCKET}. Opens nothing yet: the
   * socket is made on the first {@link #send}.
   *
   * @throws IllegalArgumentException if {@code notifySocket} is neither an absolute path nor an
   *     {@code @abstract} name (for example systemd's {@code vsock:} addresses, which Lull does not
   *     support)
   */
  public static SdNotify open(String notifySocket) {
    Objects.requireNonNull(notifySocket, "notifySocket");
    if (notifySocket.length() > 1 && notifySocket.startsWith("@")) {
      // The abstract namespace: a leading NUL byte, and the address is exactly as long as the name.
      return new SdNotify(notifySocket, new DomainSocketAddress("\0" + notifySocket.substring(1)));
    }
    if (notifySocket.startsWith("/")) {
      return new SdNotify(notifySocket, new DomainSocketAddress(notifySocket));
    }
    throw new IllegalArgumentException(
        "NOTIFY_SOCKET must be an absolute path or an @abstract name: \"" + notifySocket + "\"");
  }

  /** The address as given: a path or {@code @name}. */
  public String address() {
    return address;
  }

  /**
   * Sends {@code state} — one or more {@code KEY=VALUE} lines — as one datagram, waiting up to a
   * second for it to be written.
   *
   * @return whether it was sent
   */
  public boolean send(String state) {
    Channel ch;
    try {
      ch = channel();
    } catch (RuntimeException e) {
      failed("cannot open a datagram socket: " + e.getMessage());
      return false;
    }
    if (ch == null) {
      String why;
      synchronized (lock) {
        why = closed ? "closed" : unavailable;
      }
      failed(why);
      return false;
    }
    byte[] bytes = state.getBytes(StandardCharsets.UTF_8);
    ChannelFuture f =
        ch.writeAndFlush(new DomainDatagramPacket(Unpooled.wrappedBuffer(bytes), target));
    if (!f.awaitUninterruptibly(SEND_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
      failed("sending took longer than " + SEND_TIMEOUT_MILLIS + "ms");
      return false;
    }
    if (!f.isSuccess()) {
      failed(String.valueOf(f.cause()));
      return false;
    }
    LOG.log(System.Logger.Level.TRACE, () -> "sd_notify " + state.replace('\n', ' '));
    return true;
  }

  /** Closes the socket and its event loop. Later sends return false. Idempotent. */
  @Override
  public void close() {
    EventLoopGroup g;
    synchronized (lock) {
      if (closed) return;
      closed = true;
      g = group;
      if (channel != null) channel.close();
      channel = null;
      group = null;
    }
    if (g != null) g.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private Channel channel() {
    synchronized (lock) {
      if (closed || unavailable != null) return null;
      if (channel != null) return channel;
      if (!Epoll.isAvailable()) {
        unavailable = "the native epoll transport is unavailable: " + Epoll.unavailabilityCause();
        return null;
      }
      group =
          new MultiThreadIoEventLoopGroup(
              1, new DefaultThreadFactory("lull-notify", true), EpollIoHandler.newFactory());
      ChannelFuture registered =
          new Bootstrap()
              .group(group)
              .channel(EpollDomainDatagramChannel.class)
              // An unconnected datagram socket may send as soon as it is registered.
              .option(ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION, true)
              .handler(new ChannelInboundHandlerAdapter())
              .register()
              .awaitUninterruptibly();
      if (!registered.isSuccess()) {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        group = null;
        unavailable = "cannot open a datagram socket: " + registered.cause();
        return null;
      }
      channel = registered.channel();
      return channel;
    }
  }

  private void failed(String why) {
    String message = "cannot notify systemd at " + address + ": " + why;
    if (failureLogged.compareAndSet(false, true)) {
      LOG.log(System.Logger.Level.WARNING, message + " (further failures are logged at DEBUG)");
    } else {
      LOG.log(System.Logger.Level.DEBUG, message);
    }
  }

  @Override
  public String toString() {
    return "sd_notify(" + address + ")";
  }
}
