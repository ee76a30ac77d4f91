package dev.lull.server.internal;

import dev.lull.core.ConnectionState;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One client connection: decodes requests into exchanges, runs them one at a time in order
 * (pipelining), tracks the connection state and its timeouts. Every field without a comment is
 * touched only on the connection's event loop; handler threads reach it through {@link Exchange}.
 */
final class HttpConnection extends ChannelInboundHandlerAdapter {
  private static final System.Logger LOG = System.getLogger("dev.lull.server");

  /** Requests decoded ahead of the one running; above this, reading pauses. */
  private static final int MAX_WAITING = 16;

  /** Body bytes buffered for a handler that has not read them yet; above this, reading pauses. */
  static final int BODY_HIGH_WATER = 64 * 1024;

  /** Below this, reading resumes. */
  static final int BODY_LOW_WATER = 16 * 1024;

  /** An unread request body up to this size is read and dropped to keep the connection. */
  private static final long DISCARD_LIMIT = 256 * 1024;

  /** After a response that closes the connection while the client still sends, wait this long. */
  private static final long LINGER_MILLIS = 1000;

  final Engine engine;
  final String listenerName;
  ChannelHandlerContext ctx;
  Channel channel;

  /** Read from any thread; written on the event loop. */
  private volatile ConnectionState state = ConnectionState.NEW;

  private Exchange receiving; // the exchange whose body is arriving
  private boolean discarding; // dropping the rest of a body nobody will read
  private long discarded;
  private final ArrayDeque<Exchange> waiting = new ArrayDeque<>();
  private volatile Exchange running;
  private boolean closeAfterResponse;
  private boolean lingering; // output shut down, dropping input until the client closes
  private boolean readingPaused;

  private boolean bytesSeen;
  private boolean headPending = true;
  private long headStart;
  private long idleSince;
  private ScheduledFuture<?> timer;
  private long timerDeadline;

  /** Guards waits for writability by handler threads. */
  final ReentrantLock writeLock = new ReentrantLock();

  final Condition writableChanged = writeLock.newCondition();

  HttpConnection(Engine engine, String listenerName) {
    this.engine = engine;
    this.listenerName = listenerName;
  }

  ConnectionState state() {
    return state;
  }

  /** A handler in front of the HTTP codec that sees raw bytes, to notice the start of a request. */
  ChannelInboundHandlerAdapter activityHandler() {
    return new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext c, Object msg) {
        if (lingering) {
          ReferenceCountUtil.release(msg);
          return;
        }
        bytesSeen = true;
        if (!headPending && receiving == null && !discarding) {
          headPending = true;
          headStart = System.nanoTime();
          if (state == ConnectionState.IDLE) setState(ConnectionState.ACTIVE);
        }
        c.fireChannelRead(msg);
      }

      @Override
      public void channelReadComplete(ChannelHandlerContext c) {
        // Arm the header timer only when a head is still incomplete after a read: a client that
        // sends its head in one packet never costs a timer.
        if (headPending) armTimer(headStart + engine.readHeaderTimeoutNanos);
        c.fireChannelReadComplete();
      }
    };
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.channel = ctx.channel();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    engine.connections.add(this);
    headStart = System.nanoTime();
    armTimer(headStart + engine.readHeaderTimeoutNanos);
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    setState(ConnectionState.CLOSED);
    engine.connections.remove(this);
    if (timer != null) timer.cancel(false);
    ClientGoneException gone = new ClientGoneException();
    if (running != null) running.connectionClosed(gone);
    for (Exchange ex : waiting) ex.connectionClosed(gone);
    if (receiving != null && receiving != running) receiving.connectionClosed(gone);
    waiting.clear();
    receiving = null;
    signalWriters();
    ctx.fireChannelInactive();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    signalWriters();
    ctx.fireChannelWritabilityChanged();
  }

  private void signalWriters() {
    writeLock.lock();
    try {
      writableChanged.signalAll();
    } finally {
      writeLock.unlock();
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof IOException) {
      LOG.log(System.Logger.Level.DEBUG, "connection error: {0}", cause.toString());
    } else {
      LOG.log(System.Logger.Level.WARNING, "connection error, closing: " + cause);
    }
    ctx.close();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof HttpObject)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof HttpRequest req) onHead(req);
    if (msg instanceof HttpContent content) {
      onContent(content);
    }
  }

  private void onHead(HttpRequest req) {
    headPending = false;
    if (state != ConnectionState.ACTIVE) setState(ConnectionState.ACTIVE);
    DecoderResult result = req.decoderResult();
    Exchange ex;
    if (result.isFailure()) {
      ex = Exchange.error(this, req, statusFor(result.cause()), result.cause());
      closeAfterResponse = true;
      discarding = true;
    } else if (!isSupportedVersion(req.protocolVersion())) {
      ex = Exchange.error(this, req, HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED, null);
      closeAfterResponse = true;
      discarding = true;
    } else if (HttpUtil.getContentLength(req, -1L) > engine.settings.maxBodySize()) {
      ex = Exchange.error(this, req, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, null);
      closeAfterResponse = true;
      discarding = true;
    } else if (hasUnsupportedExpectation(req)) {
      ex = Exchange.error(this, req, HttpResponseStatus.EXPECTATION_FAILED, null);
      closeAfterResponse = true;
      discarding = true;
    } else {
      ex = new Exchange(this, req);
      if (!(req instanceof LastHttpContent)) receiving = ex;
    }
    if (running == null) {
      dispatch(ex);
    } else {
      waiting.add(ex);
      updateReading();
    }
  }

  private static boolean isSupportedVersion(HttpVersion v) {
    return v.majorVersion() == 1 && (v.minorVersion() == 0 || v.minorVersion() == 1);
  }

  private static boolean hasUnsupportedExpectation(HttpRequest req) {
    String expect = req.headers().get(HttpHeaderNames.EXPECT);
    return expect != null && !HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(expect);
  }

  private static HttpResponseStatus statusFor(Throwable cause) {
    if (cause instanceof TooLongHttpLineException) return HttpResponseStatus.REQUEST_URI_TOO_LONG;
    if (cause instanceof TooLongHttpHeaderException) {
      return HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
    }
    if (cause instanceof TooLongFrameException) return HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE;
    return HttpResponseStatus.BAD_REQUEST;
  }

  private void onContent(HttpContent content) {
    try {
      boolean last = content instanceof LastHttpContent;
      Exchange ex = receiving;
      if (ex == null) {
        if (discarding) {
          discarded += content.content().readableBytes();
          if (last) {
            discarding = false;
            maybeIdle();
          } else if (discarded > DISCARD_LIMIT && running == null) {
            channel.close();
          }
        }
        return;
      }
      if (content.decoderResult().isFailure()) {
        receiving = null;
        discarding = true;
        closeAfterResponse = true;
        ex.body.fail(new IOException("malformed request body: " + content.decoderResult().cause()));
        return;
      }
      int n = content.content().readableBytes();
      ex.bodyReceived += n;
      if (ex.bodyReceived > engine.settings.maxBodySize()) {
        receiving = null;
        discarding = !last;
        closeAfterResponse = true;
        ex.body.fail(new BodyTooLargeException(engine.settings.maxBodySize()));
        return;
      }
      if (n > 0) ex.body.offer(content.content().retain());
      if (last) {
        ex.body.end();
        receiving = null;
      }
      updateReading();
    } finally {
      content.release();
    }
  }

  private void dispatch(Exchange ex) {
    running = ex;
    if (state != ConnectionState.ACTIVE) setState(ConnectionState.ACTIVE);
    if (ex.errorStatus != null) {
      sendError(ex);
    } else {
      ex.start(engine.handlerThreads);
    }
    updateReading();
  }

  private void sendError(Exchange ex) {
    HttpResponseStatus status = ex.errorStatus;
    byte[] body =
        (status.code() + " " + status.reasonPhrase() + "\n").getBytes(StandardCharsets.US_ASCII);
    FullHttpResponse res =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
    res.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
        .set(HttpHeaderNames.DATE, HttpDates.now());
    complete(ex, res, false);
  }

  /** Pauses reading while requests or body bytes pile up ahead of the handler; resumes after. */
  void updateReading() {
    boolean shouldRead =
        waiting.size() < MAX_WAITING
            && (receiving == null || receiving.body.buffered() < BODY_HIGH_WATER);
    if (shouldRead == readingPaused) {
      readingPaused = !shouldRead;
      channel.config().setAutoRead(shouldRead);
    }
  }

  /**
   * Writes the head of a streamed response, deciding whether the connection stays open. Runs on the
   * event loop, in order with the body writes the handler thread queued before and after it.
   */
  void writeHead(Exchange ex, HttpResponse head) {
    if (!ex.keepAlive || closeAfterResponse || engine.draining || !ex.lengthKnown(head)) {
      ex.closeAfter = true;
    }
    setConnectionHeader(ex, head);
    ctx.write(head, ctx.voidPromise());
  }

  private void setConnectionHeader(Exchange ex, HttpResponse res) {
    if (ex.closeAfter) {
      if (res.protocolVersion().isKeepAliveDefault() || ex.keepAlive) {
        res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
    } else if (!ex.request.protocolVersion().isKeepAliveDefault()) {
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
    }
  }

  /**
   * Completes {@code ex}: writes {@code last} (a whole response, or the last chunk of a streamed
   * one, or null when aborting), then keeps the connection for the next request or closes it.
   */
  void complete(Exchange ex, HttpObject last, boolean abort) {
    if (ex != running) {
      ReferenceCountUtil.release(last);
      return;
    }
    running = null;
    if (!channel.isActive()) {
      ReferenceCountUtil.release(last);
      return;
    }
    if (last instanceof HttpResponse head) {
      if (!ex.keepAlive || closeAfterResponse || engine.draining || ex.continueSkipped()) {
        ex.closeAfter = true;
      }
      setConnectionHeader(ex, head);
    } else if (closeAfterResponse || engine.draining) {
      ex.closeAfter = true;
    }
    if (receiving == ex) {
      // The handler answered without reading the whole body: drop the rest if it is small.
      receiving = null;
      if (ex.bodyExpectedRemaining() > DISCARD_LIMIT) ex.closeAfter = true;
      discarding = true;
      discarded = 0;
    }
    if (abort) {
      ReferenceCountUtil.release(last);
      ctx.flush();
      closeAfterFlush(ctx.newSucceededFuture());
      return;
    }
    ChannelFuture written = ctx.writeAndFlush(last);
    if (ex.closeAfter) {
      closeAfterFlush(written);
      return;
    }
    if (!waiting.isEmpty()) {
      dispatch(waiting.poll());
    } else {
      written.addListener((ChannelFutureListener) f -> maybeIdle());
      updateReading();
    }
  }

  private void closeAfterFlush(ChannelFuture written) {
    written.addListener(
        (ChannelFutureListener)
            f -> {
              if (!discarding && receiving == null) {
                channel.close();
                return;
              }
              // The client is still sending: closing now would reset the connection and could
              // destroy the response in flight. Shut down our side, drop the rest, close soon.
              lingering = true;
              if (readingPaused) {
                readingPaused = false;
                channel.config().setAutoRead(true);
              }
              if (channel instanceof DuplexChannel duplex) {
                duplex.shutdownOutput();
              }
              channel
                  .eventLoop()
                  .schedule(() -> channel.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
            });
  }

  private void maybeIdle() {
    if (running == null
        && waiting.isEmpty()
        && receiving == null
        && !discarding
        && !headPending
        && channel.isActive()) {
      setState(ConnectionState.IDLE);
      idleSince = System.nanoTime();
      armTimer(idleSince + engine.keepAliveTimeoutNanos);
    }
  }

  private void armTimer(long deadline) {
    if (timer != null && timerDeadline <= deadline) return;
    if (timer != null) timer.cancel(false);
    timerDeadline = deadline;
    timer =
        ctx.executor()
            .schedule(
                this::onTimer, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  private void onTimer() {
    timer = null;
    if (!channel.isActive()) return;
    long now = System.nanoTime();
    if (headPending) {
      long deadline = headStart + engine.readHeaderTimeoutNanos;
      if (now - deadline >= 0) {
        LOG.log(System.Logger.Level.DEBUG, "readHeaderTimeout: closing {0}", channel);
        if (bytesSeen && running == null && waiting.isEmpty()) {
          FullHttpResponse res =
              new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.REQUEST_TIMEOUT);
          res.headers()
              .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
              .setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
          ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        } else {
          channel.close();
        }
        return;
      }
      armTimer(deadline);
    } else if (state == ConnectionState.IDLE) {
      long deadline = idleSince + engine.keepAliveTimeoutNanos;
      if (now - deadline >= 0) {
        channel.close();
        return;
      }
      armTimer(deadline);
    }
  }

  private void setState(ConnectionState next) {
    ConnectionState prev = state;
    if (prev == next || prev == ConnectionState.CLOSED) return;
    state = next;
  }

  /** Closes the connection now, from any thread. */
  void forceClose() {
    channel.close();
    Exchange ex = running;
    if (ex != null) ex.interrupt();
  }

  /** Sends {@code 100 Continue}; called on the event loop before the handler's first body read. */
  void writeContinue() {
    if (!channel.isActive()) return;
    ctx.writeAndFlush(
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE),
        ctx.voidPromise());
  }
}
