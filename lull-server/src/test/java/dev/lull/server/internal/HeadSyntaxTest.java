package dev.lull.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The decoder's head check sees each byte of a head once, whether the head comes in one read, one
 * byte per read, or after other requests in the same read.
 */
class HeadSyntaxTest {
  private static List<Boolean> decode(boolean byteByByte, String... requests) {
    EmbeddedChannel ch =
        new EmbeddedChannel(
            new Http1Codec.Decoder(
                new HttpDecoderConfig().setStrictLineParsing(true).setValidateHeaders(true)));
    try {
      byte[] all = String.join("", requests).getBytes(StandardCharsets.ISO_8859_1);
      if (byteByByte) {
        for (byte b : all) ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
      } else {
        ch.writeInbound(Unpooled.wrappedBuffer(all));
      }
      List<Boolean> ok = new ArrayList<>();
      for (Object o; (o = ch.readInbound()) != null; ) {
        if (o instanceof HttpRequest r) ok.add(r.decoderResult().isSuccess());
        ReferenceCountUtil.release(o);
      }
      return ok;
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  private static final String GOOD = "GET /a HTTP/1.1\r\nHost: t\r\nX-A: b c\r\n\r\n";
  private static final String POST =
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n\r\n x";
  private static final String FOLDED = "GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n";
  private static final String TWO_SPACES = "GET  / HTTP/1.1\r\nHost: t\r\n\r\n";

  @Test
  void validHeadsPassInOneReadAndByteByByte() {
    for (boolean split : new boolean[] {false, true}) {
      assertThat(decode(split, "\r\n", GOOD, POST, GOOD)).containsExactly(true, true, true);
    }
  }

  @Test
  void badHeadsFailInOneReadAndByteByByte() {
    for (boolean split : new boolean[] {false, true}) {
      assertThat(decode(split, FOLDED)).as("obs-fold, split " + split).containsExactly(false);
      assertThat(decode(split, TWO_SPACES)).as("two spaces, split " + split).containsExactly(false);
      // A body that looks like a fold is not a head; the bad head after it is found.
      assertThat(decode(split, POST, FOLDED)).as("after a body").containsExactly(true, false);
    }
  }
}
