package dev.lull.cli.load;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;

/**
 * A connection's pipeline: {@link FirstBytes}, {@link Decoder}, {@link Responses}. Requests are
 * written as bytes encoded once per run (see {@link Worker#encode}), so only responses are decoded.
 */
final class ClientHandlers {
  private ClientHandlers() {}

  /** Before the decoder: notes that bytes arrived, so a failure after them is never retried. */
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

  /**
   * Netty's response decoder, told the run's method: a response to HEAD has no body whatever its
   * headers say. (Netty's client codec learns this from the requests it encodes; ours are bytes.)
   */
  static final class Decoder extends HttpResponseDecoder {
    private final boolean head;

    Decoder(boolean head) {
      this.head = head;
    }

    @Override
    protected boolean isContentAlwaysEmpty(HttpMessage msg) {
      return head || super.isContentAlwaysEmpty(msg);
    }
  }

  /** After the decoder: response heads and bodies (discarded), closes and errors. */
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
