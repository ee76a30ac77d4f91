package dev.lull.cli.load;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;

/** The two handlers around Netty's HTTP client codec; they hand every event to the {@link Slot}. */
final class ClientHandlers {
  private ClientHandlers() {}

  /** Before the codec: notes that bytes arrived, so a failure after them is never retried. */
  static final class FirstBytes extends ChannelInboundHandlerAdapter {
    private final Slot slot;

    FirstBytes(Slot slot) {
      this.slot = slot;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      slot.bytesArrived(ctx.channel());
      ctx.fireChannelRead(msg);
    }
  }

  /** After the codec: response heads and bodies (discarded), closes and errors. */
  static final class Responses extends SimpleChannelInboundHandler<HttpObject> {
    private final Slot slot;

    Responses(Slot slot) {
      this.slot = slot;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
      if (msg instanceof HttpResponse head) slot.head(ctx.channel(), head);
      if (msg instanceof HttpContent content) slot.content(ctx.channel(), content);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      slot.lost(ctx.channel(), null);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      slot.lost(ctx.channel(), cause);
    }
  }
}
