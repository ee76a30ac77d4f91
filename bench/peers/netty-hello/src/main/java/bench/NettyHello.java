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
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The baseline: a raw Netty HTTP/1.1 server that answers every request with a short text on the
 * event loop itself, with Content-Length and keep-alive. Usage: {@code NettyHello PORT [HOST]
 * [THREADS]} (host 127.0.0.1, threads 0 = one per CPU).
 */
public final class NettyHello {
  private static final byte[] BODY = "hello from netty\n".getBytes(StandardCharsets.US_ASCII);

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: netty-hello PORT [HOST] [THREADS]");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    String host = args.length > 1 ? args[1] : "127.0.0.1";
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 0;
    if (!Epoll.isAvailable()) {
      System.err.println("netty-hello: native epoll unavailable: " + Epoll.unavailabilityCause());
      System.exit(2);
    }
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, EpollIoHandler.newFactory());
    try {
      Channel server =
          new ServerBootstrap()
              .group(group)
              .channel(EpollServerSocketChannel.class)
              .option(ChannelOption.SO_BACKLOG, 1024)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childHandler(
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                      ch.pipeline().addLast(new HttpServerCodec(), Hello.INSTANCE);
                    }
                  })
              .bind(new InetSocketAddress(host, port))
              .sync()
              .channel();
      System.out.println("netty-hello listening on " + server.localAddress());
      server.closeFuture().sync();
    } finally {
      group.shutdownGracefully();
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
