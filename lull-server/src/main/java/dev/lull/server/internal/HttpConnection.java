package dev.lull.server.internal;

import dev.lull.core.CancellationCause;
import dev.lull.core.ConnectionState;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One client connection: decodes requests into exchanges, runs them one at a time in order
 * (pipelining), tracks the connection state and its timeouts. Every field without a comment is
 * touched only on the connection's event loop; handler threads reach it through {@link Exchange}.
 *
 * <p>Reading stops (the socket is not read and the decoder decodes nothing more) while {@link
 * #MAX_WAITING} decoded requests wait for their turn, or while the body of the request being
 * received holds {@link #BODY_HIGH_WATER} bytes its handler has not read.
 *
 * <p>A connection closes after a response when the client asked for it, when the request was bad or
 * its body could not be read to its end, when the server is draining, or when the response has no
 * length. It then drops whatever else the client sends, shuts down its output so the client sees
 * the response end, and closes when the client closes or {@link #LINGER_MILLIS} later: closing a
 * socket with unread input would reset it and could destroy the response on its way.
 */
final class HttpConnection extends ChannelInboundHandlerAdapter {
  private static final System.Logger LOG = System.getLogger("dev.lull.server");

  /** Requests decoded ahead of the one running; at this many, reading pauses. */
  static final int MAX_WAITING = 16;

  /** Body bytes buffered for a handler that has not read them yet; above this, reading pauses. */
  static final int BODY_HIGH_WATER = 64 * 1024;

  /** Below this, reading resumes. */
  static final int BODY_LOW_WATER = 16 * 1024;

  /** An unread request body up to this size is read and dropped to keep the connection. */
  private static final long DISCARD_LIMIT = 256 * 1024;

  /** After a response that closes the connection, how long to wait for the client to close. */
  static final long LINGER_MILLIS = 1000;

  final Engine engine;
  final String listenerName;
  private final Http1Codec codec;
  ChannelHandlerContext ctx;
  private ChannelHandlerContext rawCtx; // the context of the handler in front of the codec
  Channel channel;

  /** Read from any thread; written on the event loop. */
  private volatile ConnectionState state = ConnectionState.NEW;

  private long id; // as reported to the activity tracker

  private Exchange receiving; // the exchange whose body is arriving
  private boolean discarding; // dropping the rest of a body nobody will read
  private long discarded;
  private final ArrayDeque<Exchange> waiting = new ArrayDeque<>();
  private volatile Exchange running;
  private boolean closing; // no more requests: input is dropped, the connection closes soon
  private boolean readingPaused;
  private boolean inRead; // inside a channelRead of the codec: it will go on decoding by itself

  /**
   * A request that asked for an upgrade ({@code Upgrade} header, or CONNECT) is the last one parsed
   * until it is answered or hijacked: what the client sends after it may not be HTTP (RFC 9110
   * 7.8), and a hijack hands it over raw.
   */
  private boolean upgradeHeld;

  /** Set once the handler took the connection over: bytes go there, HTTP is done. */
  private RawConnection raw;

  private boolean bytesSeen;
  private boolean headPending = true;
  private boolean headStarted; // bytes of a request head arrived, the head is not complete yet
  private boolean inputShutdown; // the client shut down its output: no more requests (half-close)
  private long headStart;
  private long bodyProgress; // when body bytes last arrived, or the server became ready for them
  private long idleSince;
  private ScheduledFuture<?> timer;
  private long timerDeadline;
  private final ChannelFutureListener idleWhenWritten = f -> maybeIdle();

  /** Guards waits for writability by handler threads. */
  final ReentrantLock writeLock = new ReentrantLock();

  final Condition writableChanged = writeLock.newCondition();

  HttpConnection(Engine engine, String listenerName) {
    this.engine = engine;
    this.listenerName = listenerName;
    this.codec = new Http1Codec(engine.settings);
  }

  ConnectionState state() {
    return state;
  }

  /** The id reported to the activity tracker. */
  long id() {
    return id;
  }

  /** The request being handled, if any; any thread. */
  Exchange running() {
    return running;
  }

  Http1Codec codec() {
    return codec;
  }

  /** A handler in front of the HTTP codec that sees raw bytes, to notice the start of a request. */
  ChannelInboundHandlerAdapter activityHandler() {
    return new ChannelInboundHandlerAdapter() {
      @Override
      public void handlerAdded(ChannelHandlerContext c) {
        rawCtx = c;
      }

      @Override
      public void channelRead(ChannelHandlerContext c, Object msg) {
        if (closing) {
          ReferenceCountUtil.release(msg);
          return;
        }
        bytesSeen = true;
        if (!headPending && receiving == null && !discarding) {
          headPending = true;
          headStart = System.nanoTime();
          if (state == ConnectionState.IDLE) setState(ConnectionState.ACTIVE);
        }
        if (headPending) headStarted = true;
        inRead = true;
        try {
          c.fireChannelRead(msg);
        } finally {
          inRead = false;
        }
      }

      @Override
      public void userEventTriggered(ChannelHandlerContext c, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
          inputShutdown = true;
          if (receiving != null || headStarted) {
            // It stopped in the middle of a request: gone, whether it still reads or not. Before
            // the codec, which would make a 400 of the truncated request.
            c.channel().close();
            return;
          }
        }
        c.fireUserEventTriggered(evt);
      }

      @Override
      public void channelReadComplete(ChannelHandlerContext c) {
        // Arm the header timer only when a head is still incomplete after a read: a client that
        // sends its head in one packet never costs a timer.
        if (headPending && !closing) armTimer(headStart + engine.readHeaderTimeoutNanos);
        c.fireChannelReadComplete();
      }
    };
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.channel = ctx.channel();
    Long counted = channel.attr(Engine.CONNECTION_ID).get();
    if (counted != null) {
      id = counted;
    } else {
      // Not through a listener of ours (a test's embedded channel): count it now.
      id = -channel.hashCode();
      engine.tracker.connectionStateChanged(id, null, ConnectionState.NEW);
    }
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
    // Out of the engine's set before CLOSED is reported: the drain may end on that report, and a
    // forceClose that ran then must not count this connection as one it closed.
    engine.connections.remove(this);
    setState(ConnectionState.CLOSED);
    if (timer != null) timer.cancel(false);
    closing = true;
    ClientGoneException gone = new ClientGoneException();
    if (raw != null) raw.connectionClosed();
    // A handler that closed its hijacked connection itself is not cancelled for it.
    if (running != null && (raw == null || !raw.closedByHandler())) running.connectionClosed(gone);
    for (Exchange ex : waiting) {
      ex.connectionClosed(gone);
      ex.body.close(); // never run: nobody else releases what its body holds
    }
    if (receiving != null && receiving != running) receiving.connectionClosed(gone);
    waiting.clear();
    receiving = null;
    signalWriters();
    ctx.fireChannelInactive();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      if (raw != null) {
        raw.inputShutdown(); // hijacked: the handler reads the end of its stream
      } else {
        onInputShutdown();
      }
    }
    ctx.fireUserEventTriggered(evt);
  }

  /**
   * The client shut down its output after whole requests (epoll only; on NIO the channel closes).
   * It may have half-closed and still read, or closed completely: the end of input looks the same.
   * Requests received are served, the last response closes the connection; meanwhile {@link
   * HalfClose} finds out whether the client is still there, and if not the connection closes and
   * the running request is cancelled as CLIENT_DISCONNECTED.
   */
  private void onInputShutdown() {
    if (running == null && waiting.isEmpty()) {
      closeWhenWritten(); // idle, or lingering after a last response
      return;
    }
    HalfClose.watch(this);
  }

  /** Closes the connection once what was written before is out. */
  private void closeWhenWritten() {
    ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
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
    if (raw != null) {
      raw.received(msg); // hijacked: raw bytes, from the codec's buffer first, then the socket
      return;
    }
    if (closing || !(msg instanceof HttpObject)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof HttpRequest req) {
      onHead(req);
      // Only the decoder's stand-in for a request it could not parse is also content; empty.
      if (msg instanceof HttpContent) ReferenceCountUtil.release(msg);
      return;
    }
    onContent((HttpContent) msg);
  }

  private void onHead(HttpRequest req) {
    headPending = false;
    headStarted = false;
    if (state != ConnectionState.ACTIVE) setState(ConnectionState.ACTIVE);
    HttpResponseStatus error = check(req);
    Exchange ex;
    if (error != null) {
      ex = Exchange.error(this, req, error);
      // Nothing after a bad head can be trusted to be framed right: stop decoding, drop the rest.
      stopReading();
    } else {
      ex = new Exchange(this, req);
      if (!(req instanceof LastHttpContent)) {
        receiving = ex;
        awaitBody();
      }
    }
    if (running == null) {
      dispatch(ex);
    } else {
      waiting.add(ex);
      updateReading();
    }
  }

  /** The status a request head gets without reaching its handler, or null if it is acceptable. */
  private HttpResponseStatus check(HttpRequest req) {
    DecoderResult result = req.decoderResult();
    if (result.isFailure()) {
      Throwable cause = result.cause();
      LOG.log(System.Logger.Level.DEBUG, "bad request from {0}: {1}", channel, cause);
      if (cause instanceof TooLongHttpLineException) return HttpResponseStatus.REQUEST_URI_TOO_LONG;
      if (cause instanceof TooLongHttpHeaderException) {
        return HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
      }
      if (cause instanceof TooLongFrameException) {
        return HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
      }
      return HttpResponseStatus.BAD_REQUEST;
    }
    HttpVersion v = req.protocolVersion();
    if (v.majorVersion() != 1 || v.minorVersion() > 1) {
      return HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED;
    }
    boolean http11 = v.minorVersion() == 1;
    HttpHeaders headers = req.headers();
    // RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0 (400 otherwise),
    Iterator<? extends CharSequence> hosts =
        headers.valueCharSequenceIterator(HttpHeaderNames.HOST);
    // and 400 for a Host that is not uri-host [":" port].
    if (hosts.hasNext()) {
      CharSequence host = hosts.next();
      if (hosts.hasNext() || !isValidHost(host)) return HttpResponseStatus.BAD_REQUEST;
    } else if (http11) {
      return HttpResponseStatus.BAD_REQUEST;
    }
    if (!isValidTarget(req.uri()) || !isValidTargetForm(req.method(), req.uri())) {
      return HttpResponseStatus.BAD_REQUEST;
    }
    String length = headers.get(HttpHeaderNames.CONTENT_LENGTH);
    if (length != null) {
      long declared;
      try {
        declared = Long.parseLong(length); // the decoder has checked it already
      } catch (NumberFormatException e) {
        return HttpResponseStatus.BAD_REQUEST;
      }
      if (declared > engine.settings.maxBodySize()) {
        return HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE;
      }
    }
    String expect = headers.get(HttpHeaderNames.EXPECT);
    if (expect != null && !HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(expect)) {
      return HttpResponseStatus.EXPECTATION_FAILED;
    }
    return null;
  }

  /**
   * A request target has no spaces nor control characters (the decoder lets NUL through), and every
   * {@code %} starts an escape: the handler could not decode its path or query otherwise.
   */
  private static boolean isValidTarget(String uri) {
    int n = uri.length();
    if (n == 0) return false;
    for (int i = 0; i < n; i++) {
      char c = uri.charAt(i);
      if (c <= ' ' || c == 0x7f) return false;
      if (c == '%' && (i + 2 >= n || !isHex(uri.charAt(i + 1)) || !isHex(uri.charAt(i + 2)))) {
        return false;
      }
    }
    return true;
  }

  /**
   * RFC 9112 3.2: the four forms of request target, each where it belongs. Origin-form ({@code
   * /path?query}) for every method but CONNECT; absolute-form ({@code http://host/path}, what a
   * proxy is sent, which a server must accept) with an http or https scheme and an authority;
   * authority-form ({@code host:port}) for CONNECT only; asterisk-form ({@code *}) for OPTIONS
   * only. A fragment is never part of a target.
   */
  private static boolean isValidTargetForm(HttpMethod method, String uri) {
    if (uri.indexOf('#') >= 0) return false;
    if (HttpMethod.CONNECT.equals(method)) {
      return uri.charAt(0) != '/' && uri.indexOf('/') < 0 && isValidHost(uri);
    }
    if (uri.charAt(0) == '/') return true;
    if (uri.equals("*")) return HttpMethod.OPTIONS.equals(method);
    int authority;
    if (uri.regionMatches(true, 0, "http://", 0, 7)) {
      authority = 7;
    } else if (uri.regionMatches(true, 0, "https://", 0, 8)) {
      authority = 8;
    } else {
      return false;
    }
    int end = authority;
    while (end < uri.length() && uri.charAt(end) != '/' && uri.charAt(end) != '?') end++;
    return end > authority && isValidHost(uri.subSequence(authority, end));
  }

  /**
   * Whether {@code host} is {@code uri-host [":" port]} (RFC 3986 3.2.2: an IP literal in brackets,
   * or a reg-name of unreserved characters, sub-delims and escapes), or empty (RFC 9112 3.2).
   */
  static boolean isValidHost(CharSequence host) {
    int n = host.length();
    int i = 0;
    if (n > 0 && host.charAt(0) == '[') {
      for (i = 1; i < n && host.charAt(i) != ']'; i++) {
        char c = host.charAt(i);
        if (!(isHex(c) || c == ':' || c == '.')) return false;
      }
      if (i == n) return false; // no closing bracket
      i++;
    } else {
      for (; i < n && host.charAt(i) != ':'; i++) {
        char c = host.charAt(i);
        if (c == '%') {
          if (i + 2 >= n || !isHex(host.charAt(i + 1)) || !isHex(host.charAt(i + 2))) return false;
          i += 2;
        } else if (!(c >= 'a' && c <= 'z'
            || c >= 'A' && c <= 'Z'
            || c >= '0' && c <= '9'
            || "-._~!$&'()*+,;=".indexOf(c) >= 0)) {
          return false;
        }
      }
    }
    if (i == n) return true;
    if (host.charAt(i) != ':') return false;
    for (i++; i < n; i++) {
      char c = host.charAt(i);
      if (c < '0' || c > '9') return false;
    }
    return true;
  }

  private static boolean isHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  private void onContent(HttpContent content) {
    try {
      boolean last = content instanceof LastHttpContent;
      Exchange ex = receiving;
      // The rest of a body dropped after its response gets readBodyTimeout in all; one being read
      // gets it between bytes.
      if (ex != null) bodyProgress = System.nanoTime();
      if (ex == null) {
        if (discarding) {
          discarded += content.content().readableBytes();
          if (last) {
            discarding = false;
            maybeIdle();
          } else if (discarded > DISCARD_LIMIT && running == null) {
            stopReading();
            lingerAndClose(ctx.writeAndFlush(Unpooled.EMPTY_BUFFER));
          }
        }
        return;
      }
      if (content.decoderResult().isFailure()) {
        // The decoder has stopped decoding: this connection carries no more requests.
        receiving = null;
        ex.closeAfter = true;
        stopReading();
        ex.body.fail(new MalformedBodyException(content.decoderResult().cause()));
        return;
      }
      int n = content.content().readableBytes();
      ex.bodyReceived += n;
      if (ex.bodyReceived > engine.settings.maxBodySize()) {
        receiving = null;
        ex.closeAfter = true;
        stopReading();
        ex.body.fail(new BodyTooLargeException(engine.settings.maxBodySize()));
        return;
      }
      if (n > 0) ex.body.offer(content.content().retain());
      if (last) {
        ex.body.end();
        receiving = null;
        if (asksForUpgrade(ex.request)) upgradeHeld = true; // paused by updateReading below
      }
      updateReading();
    } finally {
      content.release();
    }
  }

  private void dispatch(Exchange ex) {
    running = ex;
    if (state != ConnectionState.ACTIVE) setState(ConnectionState.ACTIVE);
    if (ex.errorStatus == null && engine.stopping) {
      // The stop timeout has expired: a request that has not started will not run.
      ex.body.close();
      ex = Exchange.error(this, ex.request, HttpResponseStatus.SERVICE_UNAVAILABLE);
      running = ex;
      receiving = null;
      stopReading();
    }
    if (ex.errorStatus != null) {
      sendError(ex);
    } else {
      ex.start();
      updateReading();
    }
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

  /**
   * Pauses reading while requests or body bytes pile up ahead of the handlers, resumes when they
   * have drained (to half the queue, or below the body's low-water mark).
   */
  void updateReading() {
    if (closing || raw != null) return;
    boolean pause;
    if (upgradeHeld) {
      pause = true;
    } else if (readingPaused) {
      pause =
          waiting.size() > MAX_WAITING / 2
              || (receiving != null && receiving.body.buffered() >= BODY_LOW_WATER);
    } else {
      pause =
          waiting.size() >= MAX_WAITING
              || (receiving != null && receiving.body.buffered() >= BODY_HIGH_WATER);
    }
    if (pause == readingPaused) return;
    readingPaused = pause;
    if (!pause) bodyProgress = System.nanoTime(); // the pause was the server's, not the client's
    codec.decoder().paused = pause;
    channel.config().setAutoRead(!pause);
    if (!pause && !inRead && codec.decoder().hasBuffered()) {
      // Requests already received wait in the decoder; no new bytes may come to wake it.
      inRead = true;
      try {
        rawCtx.fireChannelRead(Unpooled.EMPTY_BUFFER);
        rawCtx.fireChannelReadComplete();
      } finally {
        inRead = false;
      }
    }
  }

  /** No more requests on this connection: decode nothing more, read and drop what arrives. */
  private void stopReading() {
    closing = true;
    codec.decoder().paused = true;
    if (readingPaused) {
      readingPaused = false;
      channel.config().setAutoRead(true);
    }
  }

  /**
   * Writes the head of a streamed response, deciding whether the connection stays open. Runs on the
   * event loop, in order with the body writes the handler thread queued before and after it.
   */
  void writeHead(Exchange ex, HttpResponse head) {
    if (ex != running || !channel.isActive() || raw != null) return;
    startResponse(ex, head);
    ctx.write(head, ctx.voidPromise());
  }

  /** Decides whether the connection closes after this response and says so in its head. */
  private void startResponse(Exchange ex, HttpResponse res) {
    ex.responseStarted = true;
    ex.status = res.status().code();
    codec.encoder().headRequest = ex.isHead();
    if (!ex.keepAlive
        || drainingAndNothingPending()
        || ex.continueSkipped()
        || !ex.lengthKnown(res)
        || res.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE, true)) {
      ex.closeAfter = true;
    }
    if (ex.closeAfter) {
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    } else if (!ex.request.protocolVersion().isKeepAliveDefault()) {
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
    }
  }

  /**
   * Completes {@code ex}: writes {@code last} (a whole response, or the last chunk of a streamed
   * one, or null when aborting), then keeps the connection for the next request or closes it.
   */
  void complete(Exchange ex, HttpObject last, boolean abort) {
    if (ex != running || raw != null) {
      ReferenceCountUtil.release(last);
      return;
    }
    running = null;
    engine.countRequest(ex, last instanceof HttpResponse head ? head.status().code() : ex.status);
    upgradeHeld = false; // answered without a hijack: what follows is HTTP again
    if (!channel.isActive()) {
      ReferenceCountUtil.release(last);
      return;
    }
    if (receiving == ex) {
      // The handler answered without reading the whole body: drop the rest if it is small.
      receiving = null;
      if (ex.bodyExpectedRemaining() > DISCARD_LIMIT) ex.closeAfter = true;
      discarding = true;
      discarded = 0;
      awaitBody();
    }
    if (last instanceof HttpResponse head) {
      startResponse(ex, head);
    } else if (inputShutdown && drainingAndNothingPending()) {
      ex.closeAfter = true;
    }
    // A streamed response whose head went out before lame duck told the client "keep-alive": the
    // client may send its next request the instant the last chunk arrives, so closing now would
    // race it. The connection goes idle instead, and lame duck closes it after the idle grace; a
    // request that comes meanwhile is served, with Connection: close.
    if (abort) {
      ReferenceCountUtil.release(last);
      stopReading();
      // After what the handler wrote: the client sees a truncated body, then the end.
      lingerAndClose(ctx.writeAndFlush(Unpooled.EMPTY_BUFFER));
      return;
    }
    ChannelFuture written = ctx.writeAndFlush(last);
    if (ex.closeAfter) {
      stopReading();
      lingerAndClose(written);
      return;
    }
    if (!waiting.isEmpty()) {
      dispatch(waiting.poll());
    } else {
      written.addListener(idleWhenWritten);
      updateReading();
    }
  }

  /**
   * Once {@code written} is out, shuts down output (the client reads the end of the response) and
   * closes when the client closes too, or after {@link #LINGER_MILLIS}; meanwhile input is dropped.
   */
  private void lingerAndClose(ChannelFuture written) {
    written.addListener(
        (ChannelFutureListener)
            f -> {
              if (!channel.isActive()) return;
              // A client that shut down its output has nothing more to send: no need to linger.
              if (!f.isSuccess() || inputShutdown || !(channel instanceof DuplexChannel duplex)) {
                channel.close();
                return;
              }
              duplex.shutdownOutput();
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
        && !closing
        && raw == null
        && channel.isActive()) {
      if (inputShutdown) {
        closeWhenWritten(); // half-closed: no request can come
        return;
      }
      setState(ConnectionState.IDLE);
      idleSince = System.nanoTime();
      armTimer(idleDeadline());
    }
  }

  /**
   * When this idle connection closes: after {@code keepAliveTimeout}, and in lame duck also once it
   * has been idle for {@code lameDuckIdleGrace} counted from the later of its last response and the
   * start of lame duck. A connection idle for long before the stop still gets the grace: a request
   * the client sent just before it saw anything of the stop is served, not cut.
   */
  private long idleDeadline() {
    long keepAlive = idleSince + engine.keepAliveTimeoutNanos;
    if (!engine.draining) return keepAlive;
    long since = idleSince - engine.lameDuckSince >= 0 ? idleSince : engine.lameDuckSince;
    long grace = since + engine.lameDuckIdleGraceNanos;
    return grace - keepAlive < 0 ? grace : keepAlive;
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
    if (!channel.isActive() || closing || raw != null) return;
    long now = System.nanoTime();
    if (headPending) {
      long deadline = headStart + engine.readHeaderTimeoutNanos;
      if (now - deadline >= 0 && (running != null || !waiting.isEmpty())) {
        // The start of a pipelined request while earlier ones are served: its time counts once
        // the connection is ready to read it.
        headStart = now;
        armTimer(now + engine.readHeaderTimeoutNanos);
        return;
      }
      if (now - deadline >= 0) {
        LOG.log(System.Logger.Level.DEBUG, "readHeaderTimeout: closing {0}", channel);
        stopReading();
        if (bytesSeen) {
          FullHttpResponse res =
              new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.REQUEST_TIMEOUT);
          res.headers()
              .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
              .setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
          codec.encoder().headRequest = false;
          lingerAndClose(ctx.writeAndFlush(res));
        } else {
          channel.close();
        }
        return;
      }
      armTimer(deadline);
    } else if ((receiving != null || discarding) && engine.readBodyTimeoutNanos > 0) {
      if (readingPaused
          || (receiving != null && receiving.expectContinue && !receiving.continueWritten)) {
        // The server is not reading, or the client rightly waits for 100 Continue.
        bodyProgress = now;
      }
      long deadline = bodyProgress + engine.readBodyTimeoutNanos;
      if (now - deadline >= 0) {
        onBodyTimeout();
        return;
      }
      armTimer(deadline);
    } else if (state == ConnectionState.IDLE) {
      long deadline = idleDeadline();
      if (now - deadline >= 0) {
        stopReading();
        lingerAndClose(ctx.newSucceededFuture());
        return;
      }
      armTimer(deadline);
    }
  }

  private void setState(ConnectionState next) {
    ConnectionState prev = state;
    if (prev == next || prev == ConnectionState.CLOSED) return;
    state = next;
    engine.tracker.connectionStateChanged(id, prev, next);
  }

  /** Whether {@code req} asks to switch protocols: what follows it may not be HTTP. */
  private static boolean asksForUpgrade(HttpRequest req) {
    return req.headers().contains(HttpHeaderNames.UPGRADE)
        || HttpMethod.CONNECT.equals(req.method());
  }

  /**
   * Event loop: hands the connection over to the handler of {@code ex} ({@code Response.hijack()}).
   * The connection becomes HIJACKED (busy until it closes); the HTTP codec leaves the pipeline, and
   * whatever it holds undecoded, then everything the socket receives, goes to the raw input. Fails
   * if anything after the request was parsed as HTTP already: those bytes cannot be handed over.
   */
  void hijack(Exchange ex, CompletableFuture<RawConnection> result) {
    if (ex != running || !channel.isActive()) {
      result.completeExceptionally(new ClientGoneException());
      return;
    }
    String refusal = null;
    if (ex.responseStarted || ex.timedOut) {
      refusal = "response already committed";
    } else if (receiving == ex) {
      refusal = "the request body has not been received completely";
    } else if (closing || receiving != null || !waiting.isEmpty() || codec.decoder().partial) {
      refusal =
          "the client sent more HTTP after this request; a client that switches protocols must send"
              + " Upgrade";
    }
    if (refusal != null) {
      result.completeExceptionally(new IllegalStateException("cannot hijack: " + refusal));
      return;
    }
    raw = new RawConnection(this);
    upgradeHeld = false;
    headPending = false;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    setState(ConnectionState.HIJACKED);
    // The caller may speak a protocol where one side stops sending first.
    channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    ChannelPipeline pipeline = channel.pipeline();
    if (rawCtx != null && !rawCtx.isRemoved()) pipeline.remove(rawCtx.handler());
    readingPaused = false;
    channel.config().setAutoRead(true); // raw pauses it again while its input is full
    // Removing the decoder passes what it holds undecoded to channelRead, which gives it to raw.
    pipeline.remove(codec);
    result.complete(raw);
  }

  /** Closes the connection now, from any thread; the running handler is interrupted. */
  io.netty.channel.ChannelFuture forceClose() {
    Exchange ex = running;
    if (ex != null) ex.interrupt();
    return channel.close();
  }

  /** Cancels the running request, if any, from any thread. */
  boolean cancelRunning(CancellationCause why) {
    Exchange ex = running;
    return ex != null && ex.cancel(why);
  }

  /** Any thread: {@code ex} was cancelled. */
  void cancelled(Exchange ex, CancellationCause why) {
    if (why == CancellationCause.DEADLINE_EXCEEDED) {
      channel.eventLoop().execute(() -> onDeadline(ex));
    }
  }

  /**
   * The deadline of {@code ex} passed: answer for it now if its response has not started (its
   * handler's later writes are dropped), else cut the connection, which is the only way to tell a
   * client that a streamed body is incomplete.
   */
  private void onDeadline(Exchange ex) {
    if (ex != running || !channel.isActive() || raw != null) return;
    ex.timedOut = true;
    if (ex.responseStarted) {
      complete(ex, null, true);
      return;
    }
    ex.closeAfter = true;
    HttpResponseStatus status = HttpResponseStatus.valueOf(ex.deadlineStatus);
    byte[] body = "request deadline exceeded\n".getBytes(StandardCharsets.US_ASCII);
    FullHttpResponse res =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
    res.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
        .set(HttpHeaderNames.DATE, HttpDates.now());
    complete(ex, res, false);
  }

  /**
   * Event loop: the server entered lame duck. A request running or pipelined is served, its
   * response saying {@code Connection: close}. An idle keep-alive connection is closed once it has
   * been idle for {@code lameDuckIdleGrace} (see {@link #idleDeadline()}): a client that reuses it
   * within that grace is served (with {@code Connection: close}) rather than racing our close.
   */
  void enterLameDuck() {
    if (!channel.isActive() || closing || raw != null) return;
    if (state == ConnectionState.IDLE) armTimer(idleDeadline());
  }

  /**
   * Whether the connection should close after the response now being sent: in lame duck, or once
   * the client shut down its output, when no other request is pending.
   */
  private boolean drainingAndNothingPending() {
    return (engine.draining || inputShutdown)
        && waiting.isEmpty()
        && !headPending
        && receiving == null
        && !codec.decoder().hasBuffered();
  }

  /** For tests: requests decoded and waiting for the one running. */
  int waitingCount() {
    return waiting.size();
  }

  /** For tests: the connection as its handler took it over, or null. */
  RawConnection hijacked() {
    return raw;
  }

  /** For tests: whether reading is paused (backpressure). */
  boolean isReadingPaused() {
    return readingPaused;
  }

  /** For tests: bytes written to this connection that the kernel has not taken yet. */
  long pendingOutboundBytes() {
    ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
    return out == null ? 0 : out.totalPendingWriteBytes();
  }

  /**
   * Sends {@code 100 Continue} for {@code ex}, on the event loop, before its handler's first body
   * read; not once its response has started.
   */
  void writeContinue(Exchange ex) {
    if (ex != running || ex.responseStarted || closing || raw != null || !channel.isActive()) {
      return;
    }
    ex.continueWritten = true;
    if (receiving == ex) bodyProgress = System.nanoTime(); // the client starts sending now
    ctx.writeAndFlush(
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER),
        ctx.voidPromise());
  }

  /** A request body is expected: its bytes must keep coming (readBodyTimeout). */
  private void awaitBody() {
    if (engine.readBodyTimeoutNanos == 0) return;
    bodyProgress = System.nanoTime();
    armTimer(bodyProgress + engine.readBodyTimeoutNanos);
  }

  /**
   * No body byte arrived for readBodyTimeout while the server was ready to read: the body being
   * received fails (its handler's read throws; 408 if nothing was answered yet), or the rest of a
   * body being dropped after its response did not arrive within readBodyTimeout of that response (a
   * client trickling it byte by byte would otherwise hold the connection forever); either way the
   * connection closes.
   */
  private void onBodyTimeout() {
    LOG.log(System.Logger.Level.DEBUG, "readBodyTimeout: closing {0}", channel);
    stopReading();
    Exchange ex = receiving;
    if (ex != null) {
      receiving = null;
      ex.closeAfter = true;
      ex.body.fail(
          new RequestBodyException(
              408,
              "no request body bytes for "
                  + dev.lull.core.Durations.format(engine.settings.readBodyTimeout())));
      if (running == null) lingerAndClose(ctx.newSucceededFuture()); // nobody will answer
      return;
    }
    discarding = false;
    if (running == null) lingerAndClose(ctx.newSucceededFuture());
  }
}
