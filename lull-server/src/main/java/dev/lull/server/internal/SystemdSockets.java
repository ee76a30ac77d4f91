package dev.lull.server.internal;

import dev.lull.core.SocketActivation;
import dev.lull.core.SocketActivation.ListenFd;
import dev.lull.server.ListenerSpec;
import io.netty.channel.ChannelException;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The sockets systemd passed to this process, checked and turned into Netty server channels.
 *
 * <p>Each fd is checked with {@code getsockopt}: it must be a socket ({@code SO_TYPE} fails with
 * {@code ENOTSOCK} otherwise), of type {@code SOCK_STREAM}, listening ({@code SO_ACCEPTCONN}), of
 * family {@code AF_INET}/{@code AF_INET6} (TCP) or {@code AF_UNIX} ({@code SO_DOMAIN}). This asks
 * the kernel about the fd itself, where {@code /proc/net/*} would need a lookup by inode that
 * misses sockets of another network namespace; {@code /proc/self/fd} only serves to describe what a
 * wrong fd is (a pipe, a file). The constants are Linux's generic ones, which x86_64 and aarch64
 * (the platforms Lull ships the epoll transport for) share.
 *
 * <p>systemd passes fds in blocking mode (unless the unit says {@code NonBlocking=yes}); an event
 * loop accepting on a blocking socket would hang once the queue is empty, so each adopted fd is
 * made non-blocking, see {@link #makeNonBlocking(int)}. Adopted fds are closed when the server
 * closes, never {@code shutdown()} (which would stop the socket for systemd and the next instance
 * too), and the file of an adopted Unix socket is never deleted (Netty only deletes the file of a
 * socket it bound itself).
 */
final class SystemdSockets {
  // Linux, asm-generic values (x86_64, aarch64).
  private static final int SOL_SOCKET = 1;
  private static final int SO_TYPE = 3;
  private static final int SO_ACCEPTCONN = 30;
  private static final int SO_DOMAIN = 39;
  private static final int SOCK_STREAM = 1;
  private static final int SOCK_DGRAM = 2;
  private static final int SOCK_SEQPACKET = 5;
  private static final int AF_UNIX = 1;
  private static final int AF_INET = 2;
  private static final int AF_INET6 = 10;
  private static final int O_NONBLOCK = 0_4000;

  /**
   * Fds adopted by any server of this process. A claim is never released: once the channel closes
   * the fd, its number may be reused for an unrelated file.
   */
  private static final Set<Integer> CLAIMED = ConcurrentHashMap.newKeySet();

  private static final AtomicLong PAIRS = new AtomicLong();

  private SystemdSockets() {}

  /** The kinds of socket Lull adopts. */
  enum Family {
    TCP,
    UNIX
  }

  /** An inherited fd that passed the checks. */
  record Inherited(ListenFd fd, Family family, SocketAddress address) {
    /** A channel on the fd, already bound and listening; registering it starts accepting. */
    ServerChannel newChannel() {
      return family == Family.TCP
          ? new EpollServerSocketChannel(fd.fd())
          // The one-argument constructor leaves the channel inactive, so it would never accept
          // (netty/netty#13877).
          : new EpollServerDomainSocketChannel(fd.fd(), true);
    }
  }

  /**
   * The inherited sockets {@code spec} selects ({@code systemd}: all, {@code systemd:NAME}: those
   * named NAME), checked, made non-blocking and claimed for this process.
   *
   * @throws IllegalArgumentException if the {@code LISTEN_*} variables are malformed
   * @throws IllegalStateException with a one-line message if systemd passed no socket, none by that
   *     name, epoll is unavailable, a socket is not a listening TCP or Unix stream socket, or is
   *     already adopted by another listener
   */
  static List<Inherited> select(ListenerSpec spec, boolean epoll) {
    SocketActivation activation = SocketActivation.inherited();
    String where = "listener \"" + spec + "\": ";
    if (activation.fds().isEmpty()) {
      throw new IllegalStateException(
          where + "systemd passed no sockets: " + activation.absence().orElse("none"));
    }
    List<ListenFd> chosen = spec.fdName().map(activation::named).orElse(activation.fds());
    if (chosen.isEmpty()) {
      throw new IllegalStateException(
          where
              + "systemd passed no socket named \""
              + spec.fdName().orElseThrow()
              + "\" (names: "
              + String.join(", ", activation.names())
              + ")");
    }
    if (!epoll) {
      throw new IllegalStateException(
          where
              + "systemd sockets need the native epoll transport (Linux), which is unavailable: "
              + Transport.epollUnavailableReason());
    }
    List<Inherited> result = new ArrayList<>();
    for (ListenFd fd : chosen) result.add(probe(where, fd));
    List<Integer> claimed = new ArrayList<>();
    for (Inherited s : result) {
      if (!CLAIMED.add(s.fd().fd())) {
        CLAIMED.removeAll(claimed);
        throw new IllegalStateException(
            where + "systemd socket " + s.fd() + " is already used by another listener");
      }
      claimed.add(s.fd().fd());
    }
    for (Inherited s : result) {
      try {
        makeNonBlocking(s.fd().fd());
      } catch (IOException e) {
        throw new IllegalStateException(
            where + "cannot make systemd socket " + s.fd() + " non-blocking: " + e.getMessage(), e);
      }
    }
    return result;
  }

  /**
   * Checks that {@code fd} is a listening TCP or Unix stream socket.
   *
   * @throws IllegalStateException saying what the fd is instead
   */
  static Inherited probe(String where, ListenFd fd) {
    String it = where + "systemd socket " + fd;
    Socket socket;
    int type;
    int listening;
    int domain;
    try {
      socket = new Socket(fd.fd()); // a view on the fd, never closed here
      type = socket.getIntOpt(SOL_SOCKET, SO_TYPE);
      listening = socket.getIntOpt(SOL_SOCKET, SO_ACCEPTCONN);
      domain = socket.getIntOpt(SOL_SOCKET, SO_DOMAIN);
    } catch (IOException | ChannelException e) {
      String target = fdTarget(fd.fd());
      if (target == null) throw new IllegalStateException(it + " is not open", e);
      if (!target.startsWith("socket:")) {
        throw new IllegalStateException(it + " is not a socket but " + target, e);
      }
      throw new IllegalStateException(it + " cannot be inspected: " + e.getMessage(), e);
    }
    if (type != SOCK_STREAM) {
      String kind =
          switch (type) {
            case SOCK_DGRAM -> "a datagram (SOCK_DGRAM) socket";
            case SOCK_SEQPACKET -> "a SOCK_SEQPACKET socket";
            default -> "a socket of type " + type;
          };
      throw new IllegalStateException(it + " is " + kind + ", not a stream socket");
    }
    if (listening == 0) {
      throw new IllegalStateException(it + " is a stream socket that is not listening");
    }
    return switch (domain) {
      case AF_INET, AF_INET6 -> {
        InetSocketAddress local = socket.localAddress();
        yield new Inherited(fd, Family.TCP, local);
      }
      case AF_UNIX -> new Inherited(fd, Family.UNIX, unixAddress(socket));
      default ->
          throw new IllegalStateException(
              it + " has address family " + domain + "; Lull adopts TCP and Unix sockets only");
    };
  }

  /** The path of a Unix socket; an abstract one is written {@code @name}, as systemd does. */
  private static SocketAddress unixAddress(Socket socket) {
    DomainSocketAddress local = socket.localDomainSocketAddress();
    String path = local == null ? "" : local.path();
    int end = path.indexOf('\0', 1);
    if (path.startsWith("\0")) path = "@" + path.substring(1);
    else if (end > 0) path = path.substring(0, end);
    return UnixDomainSocketAddress.of(path);
  }

  /**
   * Sets {@code O_NONBLOCK} on {@code fd} if it is not set. Neither the JDK nor Netty's public API
   * has {@code fcntl}; Netty's {@link Socket#recvFd()} however sets {@code O_NONBLOCK} on every fd
   * it receives. So the fd is sent to ourselves over a Unix socket pair (in the abstract namespace:
   * no file) and the received duplicate is closed again: the flag belongs to the open file
   * description, which the duplicate shares with {@code fd} (and with systemd's copy, as with any
   * program that sets it). When {@code /proc/self/fdinfo} is readable, the result is checked.
   *
   * @throws IOException if a step fails or the fd is still blocking afterwards
   */
  static void makeNonBlocking(int fd) throws IOException {
    OptionalInt before = statusFlags(fd);
    if (before.isPresent() && (before.getAsInt() & O_NONBLOCK) != 0) return;
    Epoll.ensureAvailability();
    DomainSocketAddress address =
        new DomainSocketAddress(
            "\0lull-nonblock-" + ProcessHandle.current().pid() + "-" + PAIRS.incrementAndGet());
    Socket server = Socket.newSocketDomain();
    Socket client = null;
    Socket accepted = null;
    try {
      server.bind(address);
      server.listen(1);
      client = Socket.newSocketDomain();
      client.connect(address); // a Unix connect completes at once while the backlog has room
      int acceptedFd = server.accept(new byte[26]);
      if (acceptedFd < 0) throw new IOException("accept on a local socket pair found nothing");
      accepted = new Socket(acceptedFd);
      if (client.sendFd(fd) < 0) throw new IOException("sendFd on a local socket pair would block");
      int duplicate = accepted.recvFd();
      if (duplicate <= 0) throw new IOException("recvFd on a local socket pair received nothing");
      new FileDescriptor(duplicate).close();
    } finally {
      closeQuietly(accepted);
      closeQuietly(client);
      closeQuietly(server);
    }
    OptionalInt after = statusFlags(fd);
    if (after.isPresent() && (after.getAsInt() & O_NONBLOCK) == 0) {
      throw new IOException("O_NONBLOCK is still clear");
    }
  }

  /** The fd's file status flags from {@code /proc/self/fdinfo}, empty if unreadable. */
  static OptionalInt statusFlags(int fd) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
        if (line.startsWith("flags:")) {
          return OptionalInt.of(Integer.parseInt(line.substring(6).trim(), 8));
        }
      }
      return OptionalInt.empty();
    } catch (IOException | NumberFormatException | UncheckedIOException e) {
      return OptionalInt.empty();
    }
  }

  /** What {@code /proc/self/fd/N} points to ({@code pipe:[123]}, a path), null if not open. */
  private static String fdTarget(int fd) {
    if (!Files.isDirectory(Path.of("/proc/self/fd"))) return "an fd of unknown kind";
    try {
      return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException | UnsupportedOperationException e) {
      return "an fd of unknown kind";
    }
  }

  private static void closeQuietly(FileDescriptor fd) {
    if (fd == null) return;
    try {
      fd.close();
    } catch (IOException ignored) {
      // a local socket we made; nothing to do
    }
  }
}
