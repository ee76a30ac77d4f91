package bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The baseline: a raw Netty HTTP/1.1 server that answers every request with a short text on the
 * event loop itself, with Content-Length and keep-alive. Usage: {@code NettyHello PORT [HOST]
 * [THREADS]} (host 127.0.0.1, threads 0 = one per CPU). PORT {@code systemd} adopts the listening
 * socket systemd passed as fd 3 (LISTEN_FDS, e.g. from {@code systemd-socket-activate}) instead of
 * binding.
 */
public final class NettyHello {
  private static final byte[] BODY = "hello from netty\n".getBytes(StandardCharsets.US_ASCII);

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: netty-hello PORT [HOST] [THREADS]");
      System.exit(2);
    }
    boolean inherited = args[0].equals("systemd");
    int port = inherited ? 0 : Integer.parseInt(args[0]);
    String host = args.length > 1 ? args[1] : "127.0.0.1";
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 0;
    if (!Epoll.isAvailable()) {
      System.err.println("netty-hello: native epoll unavailable: " + Epoll.unavailabilityCause());
      System.exit(2);
    }
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, EpollIoHandler.newFactory());
    try {
      ServerBootstrap bootstrap = new ServerBootstrap().group(group);
      if (inherited) {
        String fds = System.getenv("LISTEN_FDS");
        if (fds == null || Integer.parseInt(fds) < 1) {
          System.err.println("netty-hello: systemd: no LISTEN_FDS");
          System.exit(2);
        }
        makeNonBlocking(3);
        bootstrap.channelFactory(() -> new EpollServerSocketChannel(3));
      } else {
        bootstrap.channel(EpollServerSocketChannel.class);
      }
      bootstrap
          .option(ChannelOption.SO_BACKLOG, 1024)
          .childOption(ChannelOption.TCP_NODELAY, true)
          .childHandler(
              new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                  ch.pipeline().addLast(new HttpServerCodec(), Hello.INSTANCE);
                }
              });
      Channel server =
          (inherited ? bootstrap.register() : bootstrap.bind(new InetSocketAddress(host, port)))
              .sync()
              .channel();
      System.out.println("netty-hello listening on " + server.localAddress());
      server.closeFuture().sync();
    } finally {
      group.shutdownGracefully();
    }
  }

  /**
   * An inherited fd is in blocking mode, and an event loop accepting on a blocking socket hangs once
   * the queue is empty. Neither the JDK nor Netty's public API has fcntl; Netty's recvFd sets
   * O_NONBLOCK on the fd it receives, which shares the open file description with fd: so send the
   * fd to ourselves over a Unix socket pair and close the received copy (as Lull's SystemdSockets
   * does).
   */
  private static void makeNonBlocking(int fd) throws IOException {
    DomainSocketAddress address =
        new DomainSocketAddress("\0netty-hello-" + ProcessHandle.current().pid());
    Socket server = Socket.newSocketDomain();
    Socket client = Socket.newSocketDomain();
    try {
      server.bind(address);
      server.listen(1);
      client.connect(address);
      Socket accepted = new Socket(server.accept(new byte[26]));
      try {
        client.sendFd(fd);
        new FileDescriptor(accepted.recvFd()).close();
      } finally {
        accepted.close();
      }
    } finally {
      client.close();
      server.close();
    }
  }

  /** Answers each request head; flushes once per read batch, like Netty's hello-world example. */
  @ChannelHandler.Sharable
  static final class Hello extends SimpleChannelInboundHandler<HttpObject> {
    static final Hello INSTANCE = new Hello();

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      ctx.flush();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
      if (!(msg instanceof HttpRequest req)) return;
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      ByteBuf body = Unpooled.wrappedBuffer(BODY);
      FullHttpResponse res =
          new DefaultFullHttpResponse(req.protocolVersion(), HttpResponseStatus.OK, body);
      res.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN)
          .setInt(HttpHeaderNames.CONTENT_LENGTH, BODY.length);
      if (keepAlive) {
        if (!req.protocolVersion().isKeepAliveDefault()) {
          res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        ctx.write(res, ctx.voidPromise());
      } else {
        res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.write(res).addListener(ChannelFutureListener.CLOSE);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
