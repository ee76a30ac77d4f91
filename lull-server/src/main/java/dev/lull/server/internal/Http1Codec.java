package dev.lull.server.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.List;

/**
 * Netty's HTTP/1.1 request decoder and response encoder, combined like {@code HttpServerCodec} but
 * driven by {@link HttpConnection}, which knows more than that codec can:
 *
 * <ul>
 *   <li>The decoder can be paused. {@code setAutoRead(false)} only stops reading the socket: the
 *       decoder still decodes every request already buffered, so a client that pipelines a few
 *       thousand requests in one packet would queue them all. Paused, the decoder leaves the bytes
 *       buffered until {@link HttpConnection} resumes it.
 *   <li>The encoder is told by the connection whether the response it writes answers a HEAD
 *       request. {@code HttpServerCodec} keeps a queue of decoded methods for that and fails the
 *       connection once more than 128 requests are pipelined ahead of their responses.
 * </ul>
 *
 * Both flags are touched on the event loop only.
 */
final class Http1Codec
    extends CombinedChannelDuplexHandler<Http1Codec.Decoder, Http1Codec.Encoder> {

  Http1Codec(Settings settings) {
    init(new Decoder(config(settings)), new Encoder());
  }

  static HttpDecoderConfig config(Settings settings) {
    return new HttpDecoderConfig()
        .setMaxInitialLineLength(settings.maxRequestLineLength())
        .setMaxHeaderSize(settings.maxHeaderSize())
        .setMaxChunkSize(16 * 1024)
        .setValidateHeaders(true)
        .setAllowDuplicateContentLengths(false)
        .setStrictLineParsing(true)
        // RFC 9112 6.1 and 6.3: Transfer-Encoding with Content-Length, a final coding other than
        // chunked, or Transfer-Encoding in HTTP/1.0 is a bad request (request smuggling).
        .setUseRfc9112TransferEncoding(true);
  }

  Decoder decoder() {
    return inboundHandler();
  }

  Encoder encoder() {
    return outboundHandler();
  }

  /** The request decoder; decodes nothing while {@link #paused}. */
  static final class Decoder extends HttpRequestDecoder {
    boolean paused;

    /**
     * Whether bytes after the last complete request were consumed into one not complete yet (a
     * hijack could not hand them over as they came).
     */
    boolean partial;

    Decoder(HttpDecoderConfig config) {
      super(config);
    }

    /** Checks the head being received for what the decoder accepts leniently. */
    private final HeadSyntax head = new HeadSyntax();

    private boolean betweenRequests = true; // the next bytes start a request head
    private int scannedAhead; // bytes at the start of the buffer the head check has seen

    @Override
    protected void decode(ChannelHandlerContext ctx, io.netty.buffer.ByteBuf in, List<Object> out)
        throws Exception {
      if (paused) return; // no progress: ByteToMessageDecoder keeps the bytes and stops its loop
      int start = in.readerIndex();
      int emitted = out.size();
      // Each byte of a head is scanned once, up to its end; the decoder may leave an incomplete
      // line in the buffer for the next call, and the scan skips what it saw of it.
      int scanEnd = start;
      if (betweenRequests && !head.done() && scannedAhead < in.readableBytes()) {
        int from = start + scannedAhead;
        int stop = in.forEachByte(from, in.writerIndex() - from, head);
        scanEnd = stop < 0 ? in.writerIndex() : stop + 1;
      } else if (betweenRequests) {
        scanEnd = start + scannedAhead;
      }
      super.decode(ctx, in, out);
      scannedAhead = Math.max(0, scanEnd - in.readerIndex());
      for (int i = emitted; i < out.size(); i++) {
        Object o = out.get(i);
        if (o instanceof HttpRequest req) {
          String error = head.error();
          if (error != null && req.decoderResult().isSuccess()) {
            req.setDecoderResult(DecoderResult.failure(new IllegalArgumentException(error)));
          }
          head.reset();
          betweenRequests = false;
          scannedAhead = 0;
        }
        if (o instanceof LastHttpContent) betweenRequests = true;
      }
      if (out.size() > emitted) {
        partial = !(out.get(out.size() - 1) instanceof LastHttpContent);
      } else if (in.readerIndex() != start) {
        partial = true;
      }
    }

    @Override
    protected HttpMessage createMessage(String[] initialLine) throws Exception {
      // RFC 9112 2.3: HTTP-name is case-sensitive; Netty would take "http/1.1" as HTTP/1.1.
      if (!initialLine[2].startsWith("HTTP/")) {
        throw new IllegalArgumentException("not an HTTP version: " + initialLine[2]);
      }
      return super.createMessage(initialLine);
    }

    /** Whether bytes received are waiting to be decoded. */
    boolean hasBuffered() {
      return actualReadableBytes() > 0;
    }

    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
      // Reached only if RFC 9112 checks were off: never guess which length the client meant.
      throw new IllegalArgumentException("both Content-Length and Transfer-Encoding");
    }
  }

  /**
   * The response encoder; writes no body for a response to HEAD, and drops body chunks of a
   * response whose head the connection dropped.
   */
  static final class Encoder extends HttpResponseEncoder {
    /** Whether the next response head written answers a HEAD request. */
    boolean headRequest;

    private boolean streaming; // a response head without its last chunk went through

    /**
     * A handler thread writes its body chunks straight to the channel (so that they count towards
     * writability at once), while the connection may have dropped the head they belong to: the
     * request's deadline passed and the server answered for it, or the connection closed. Such a
     * chunk reaching the encoder between two responses is dropped; encoding it would fail and log a
     * connection error.
     */
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise)
        throws Exception {
      if (msg instanceof HttpResponse r) {
        streaming =
            !(msg instanceof LastHttpContent)
                && r.status().codeClass() != HttpStatusClass.INFORMATIONAL;
      } else if (msg instanceof HttpContent) {
        if (!streaming) {
          ReferenceCountUtil.release(msg);
          promise.trySuccess();
          return;
        }
        if (msg instanceof LastHttpContent) streaming = false;
      }
      super.write(ctx, msg, promise);
    }

    @Override
    protected boolean isContentAlwaysEmpty(HttpResponse msg) {
      if (msg.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
        return super.isContentAlwaysEmpty(msg);
      }
      return headRequest || super.isContentAlwaysEmpty(msg);
    }
  }
}
