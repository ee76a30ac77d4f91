package dev.lull.cli.load;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;

/** Native epoll on Linux, NIO elsewhere; both reach TCP and Unix sockets. */
final class ClientTransport {
  private final boolean epoll;

  private ClientTransport(boolean epoll) {
    this.epoll = epoll;
  }

  static ClientTransport best() {
    return new ClientTransport(Epoll.isAvailable());
  }

  /** The JDK's NIO, also where epoll is available (for tests of the fallback). */
  static ClientTransport nio() {
    return new ClientTransport(false);
  }

  String name() {
    return epoll ? "epoll" : "nio";
  }

  EventLoopGroup newGroup(int threads) {
    IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    return new MultiThreadIoEventLoopGroup(
        threads, new DefaultThreadFactory("lull-load", true), factory);
  }

  Class<? extends Channel> channelClass(Target target) {
    if (target.unixSocket().isPresent()) {
      return epoll ? EpollDomainSocketChannel.class : NioDomainSocketChannel.class;
    }
    return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  SocketAddress address(Target target) {
    if (target.unixSocket().isPresent()) {
      String path = target.unixSocket().get().toString();
      return epoll ? new DomainSocketAddress(path) : UnixDomainSocketAddress.of(path);
    }
    return target.tcp();
  }
}
