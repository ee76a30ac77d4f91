package dev.lull.server.internal.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Plays systemd's side of {@code sd_notify}: a Unix datagram socket, bound to a path or to a name
 * in the abstract namespace, that records every message it receives in order.
 */
final class DatagramReceiver implements AutoCloseable {
  private final BlockingQueue<String> messages = new LinkedBlockingQueue<>();
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(
          1, new DefaultThreadFactory("test-notify-receiver", true), EpollIoHandler.newFactory());
  private final Channel channel;
  private final Path dir;
  private int marks;
  private final SdNotify marker;

  /** The value of NOTIFY_SOCKET that reaches this receiver. */
  final String notifySocket;

  private DatagramReceiver(String notifySocket, DomainSocketAddress bindTo, Path dir) {
    this.notifySocket = notifySocket;
    this.dir = dir;
    this.channel =
        new Bootstrap()
            .group(group)
            .channel(EpollDomainDatagramChannel.class)
            .handler(
                new SimpleChannelInboundHandler<DomainDatagramPacket>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, DomainDatagramPacket p) {
                    messages.add(p.content().toString(StandardCharsets.UTF_8));
                  }
                })
            .bind(bindTo)
            .syncUninterruptibly()
            .channel();
    this.marker = SdNotify.open(notifySocket);
  }

  /** A receiver on a socket file in a new temporary directory. */
  static DatagramReceiver onPath() throws IOException {
    Path dir = Files.createTempDirectory("lull-notify");
    Path socket = dir.resolve("notify");
    return new DatagramReceiver(socket.toString(), new DomainSocketAddress(socket.toString()), dir);
  }

  /** A receiver on a random name in the abstract namespace ({@code @name}). */
  static DatagramReceiver abstractName() {
    String name = "lull-test-" + UUID.randomUUID();
    return new DatagramReceiver("@" + name, new DomainSocketAddress("\0" + name), null);
  }

  /** The next message; fails if none arrives within 10 seconds. */
  String next() throws InterruptedException {
    String m = messages.poll(10, TimeUnit.SECONDS);
    if (m == null) throw new AssertionError("no notification within 10s");
    return m;
  }

  /**
   * Every message received so far, proven complete: sends a marker of its own and collects until it
   * arrives. A datagram socket's queue is first in, first out for all senders, and every {@link
   * SdNotify#send} has returned once its datagram is queued, so the marker comes after them all.
   */
  List<String> drain() throws InterruptedException {
    String mark = "MARK=" + (++marks);
    assertThat(marker.send(mark)).isTrue();
    List<String> got = new ArrayList<>();
    for (String m = next(); !m.equals(mark); m = next()) got.add(m);
    return got;
  }

  @Override
  public void close() throws IOException {
    marker.close();
    channel.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    if (dir != null) {
      Files.deleteIfExists(dir.resolve("notify"));
      Files.deleteIfExists(dir);
    }
  }
}
