package dev.lull.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * A handler thread's body chunk that reaches the encoder after the connection dropped its response
 * head (the deadline passed and the server answered 503) is dropped, not an encoder error.
 */
class EncoderGuardTest {
  private static ByteBuf text(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
  }

  @Test
  void aChunkWithoutItsHeadIsDroppedAndReleased() {
    EmbeddedChannel ch = new EmbeddedChannel(new Http1Codec.Encoder());
    try {
      ByteBuf data = text("late");
      ch.writeOutbound(new DefaultHttpContent(data));
      ch.checkException();
      assertThat(data.refCnt()).isZero();
      assertThat((Object) ch.readOutbound()).isNull();
      assertThat(ch.isActive()).isTrue();
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void chunksOfAStreamedResponsePass() {
    EmbeddedChannel ch = new EmbeddedChannel(new Http1Codec.Encoder());
    try {
      DefaultHttpResponse head =
          new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
      head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      ch.writeOutbound(
          head, new DefaultHttpContent(text("abc")), LastHttpContent.EMPTY_LAST_CONTENT);
      StringBuilder out = new StringBuilder();
      for (Object o; (o = ch.readOutbound()) != null; ) {
        ByteBuf b = (ByteBuf) o;
        out.append(b.toString(StandardCharsets.US_ASCII));
        b.release();
      }
      assertThat(out.toString())
          .startsWith("HTTP/1.1 200 OK\r\n")
          .endsWith("3\r\nabc\r\n0\r\n\r\n");
      // After the last chunk, a stray chunk is dropped again.
      ByteBuf stray = text("x");
      ch.writeOutbound(new DefaultHttpContent(stray));
      ch.checkException();
      assertThat(stray.refCnt()).isZero();
    } finally {
      ch.finishAndReleaseAll();
    }
  }
}
