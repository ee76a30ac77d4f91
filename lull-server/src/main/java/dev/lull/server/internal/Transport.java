package dev.lull.server.internal;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/** Native epoll on Linux, NIO elsewhere. Systemd sockets and Unix sockets need epoll. */
public final class Transport {
  private final boolean epoll;

  private Transport(boolean epoll) {
    this.epoll = epoll;
  }

  public static Transport best() {
    return new Transport(Epoll.isAvailable());
  }

  public boolean isEpoll() {
    return epoll;
  }

  /** Why epoll is unavailable, for error messages. */
  public static String epollUnavailableReason() {
    Throwable cause = Epoll.unavailabilityCause();
    return cause == null ? "available" : cause.toString();
  }

  public String name() {
    return epoll ? "epoll" : "nio";
  }

  EventLoopGroup newGroup(int threads, String prefix) {
    IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    return new MultiThreadIoEventLoopGroup(
        threads, new DefaultThreadFactory(prefix, true), factory);
  }

  Class<? extends ServerChannel> tcpServerChannel() {
    return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  Class<? extends ServerChannel> unixServerChannel() {
    if (!epoll) {
      throw new IllegalStateException(
          "unix sockets need the native epoll transport: " + epollUnavailableReason());
    }
    return EpollServerDomainSocketChannel.class;
  }
}
