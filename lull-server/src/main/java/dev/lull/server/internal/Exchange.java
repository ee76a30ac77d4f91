package dev.lull.server.internal;

import dev.lull.core.CancellationCause;
import dev.lull.core.Context;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.time.Duration;
import java.util.concurrent.ThreadFactory;

/**
 * One request and its response. Created on the event loop when a request head arrives, run on its
 * own virtual thread when its turn on the connection comes.
 */
final class Exchange implements Runnable {
  private static final System.Logger LOG = System.getLogger("dev.lull.server");

  final HttpConnection conn;
  final HttpRequest request;
  final HttpResponseStatus errorStatus; // non-null: answer with this status, run no handler
  final RequestBody body;
  final boolean keepAlive;
  final boolean expectContinue;
  final long declaredLength;
  final long startNanos = System.nanoTime(); // the head is complete

  /** The pattern of the route that serves it ({@link MatchedRoute}); null: unmatched. */
  volatile String route;

  int status; // event loop only: the status of the response head, once started

  // Event loop only.
  long bodyReceived;
  boolean closeAfter; // the connection closes after this response
  boolean responseStarted; // its head is written: no 100 Continue any more

  private volatile boolean continueSent;
  private volatile boolean gone;
  private volatile Thread thread;

  // Cancellation: the cause is set once; the context is made on first use (most handlers never ask
  // for it), and cancelled with the cause whichever of the two comes first.
  private volatile CancellationCause cancelCause;
  private Context context; // guarded by this
  volatile boolean interruptOnCancel;
  volatile int deadlineStatus = 503;
  volatile boolean finished; // the handler has returned: cancelling it means nothing any more
  volatile boolean timedOut; // the event loop answered for it when its deadline passed
  private NettyRequest req;
  private NettyResponse res;

  Exchange(HttpConnection conn, HttpRequest request) {
    this.conn = conn;
    this.request = request;
    this.errorStatus = null;
    this.body = new RequestBody(this);
    this.keepAlive = HttpUtil.isKeepAlive(request);
    // RFC 9110 10.1.1: a server MUST ignore 100-continue in an HTTP/1.0 request.
    this.expectContinue =
        request.protocolVersion().isKeepAliveDefault()
            && HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(
                request.headers().get(HttpHeaderNames.EXPECT));
    this.declaredLength = HttpUtil.getContentLength(request, -1L);
  }

  /** A request that gets {@code status} and closes the connection; no handler sees it. */
  private Exchange(HttpConnection conn, HttpRequest request, HttpResponseStatus status) {
    this.conn = conn;
    this.request = request;
    this.errorStatus = status;
    this.body = new RequestBody(this);
    this.keepAlive = false;
    this.expectContinue = false;
    this.declaredLength = -1;
    this.closeAfter = true;
  }

  static Exchange error(HttpConnection conn, HttpRequest request, HttpResponseStatus status) {
    return new Exchange(conn, request, status);
  }

  void start(ThreadFactory threads) {
    Thread t = threads.newThread(this);
    thread = t;
    t.start();
  }

  @Override
  public void run() {
    req = new NettyRequest(this);
    res = new NettyResponse(this);
    interruptOnCancel = conn.engine.settings.interruptOnCancel();
    try {
      Duration timeout = conn.engine.settings.requestTimeout();
      if (!timeout.isZero()) applyDeadline(timeout, 503);
      conn.engine.settings.handler().handle(req, res);
      res.finish();
    } catch (Throwable e) {
      res.fail(e);
    } finally {
      synchronized (this) {
        finished = true;
      }
      body.close();
      thread = null;
      Context c;
      synchronized (this) {
        c = context;
      }
      if (c != null) c.release();
    }
  }

  /** This request's context, made on first use. */
  Context context() {
    Context c;
    synchronized (this) {
      c = context;
      if (c == null) {
        c = conn.engine.settings.baseContext().detached();
        context = c;
      }
    }
    CancellationCause why = cancelCause;
    if (why != null) c.cancel(why);
    return c;
  }

  /**
   * Handler thread: from now on the request's deadline is {@code timeout} away (or its current one,
   * if sooner); when it passes the context is cancelled with DEADLINE_EXCEEDED and, if no response
   * has started, the client gets {@code status}.
   */
  void applyDeadline(Duration timeout, int status) {
    deadlineStatus = status;
    Context c = context().withTimeout(timeout);
    synchronized (this) {
      context = c;
    }
    c.onCancel(
        () -> {
          if (c.cause().orElse(null) == CancellationCause.DEADLINE_EXCEEDED) {
            cancel(CancellationCause.DEADLINE_EXCEEDED);
          }
        });
  }

  CancellationCause cancelCause() {
    return cancelCause;
  }

  /**
   * Cancels this request with {@code why} unless it is already cancelled or its handler has
   * finished: cancels its context and interrupts its thread (unless the route said not to). Any
   * thread.
   *
   * @return whether this call cancelled it
   */
  boolean cancel(CancellationCause why) {
    synchronized (this) {
      if (cancelCause != null || finished) return false;
      cancelCause = why;
    }
    Context c;
    synchronized (this) {
      c = context;
    }
    if (c != null) c.cancel(why);
    if (interruptOnCancel) interrupt();
    conn.engine.countCancelled(why);
    conn.cancelled(this, why);
    return true;
  }

  /** Handler thread: sends {@code 100 Continue} before the first read of a body that expects it. */
  void beforeBodyRead() {
    // Not when the client sent the whole body without waiting (RFC 9110 10.1.1 allows that).
    if (expectContinue && !continueSent && !body.isComplete()) {
      continueSent = true;
      conn.channel.eventLoop().execute(() -> conn.writeContinue(this));
    }
  }

  /** Handler thread: the body buffer drained below the low-water mark. */
  void resumeReading() {
    conn.channel.eventLoop().execute(conn::updateReading);
  }

  /** Event loop: whether the client waits for a 100 Continue that will never come. */
  boolean continueSkipped() {
    return expectContinue && !continueSent && !body.isComplete();
  }

  /** Event loop: body bytes still to come, when the length was declared; 0 when unknown. */
  long bodyExpectedRemaining() {
    return declaredLength >= 0 ? declaredLength - bodyReceived : 0;
  }

  /** Whether the response head lets the client find the end of the body without a close. */
  boolean lengthKnown(HttpResponse head) {
    int status = head.status().code();
    return isHead()
        || status < 200
        || status == 204
        || status == 304
        || HttpUtil.isContentLengthSet(head)
        || HttpUtil.isTransferEncodingChunked(head);
  }

  boolean isHead() {
    return HttpMethod.HEAD.equals(request.method());
  }

  boolean isGone() {
    return gone;
  }

  /** Event loop: the connection closed under this exchange. */
  void connectionClosed(ClientGoneException e) {
    gone = true;
    body.fail(e);
    if (thread != null) cancel(CancellationCause.CLIENT_DISCONNECTED);
  }

  void interrupt() {
    Thread t = thread;
    if (t != null) t.interrupt();
  }

  static void logHandlerFailure(Exchange ex, Throwable e) {
    LOG.log(
        System.Logger.Level.ERROR,
        "handler failed: "
            + ex.request.method()
            + " "
            + ex.request.uri()
            + ": "
            + e
            + (e.getStackTrace().length > 0 ? " at " + e.getStackTrace()[0] : ""));
  }
}
