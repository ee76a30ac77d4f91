package dev.lull.server.internal;

import dev.lull.core.CancellationCause;
import dev.lull.core.Context;
import dev.lull.server.RouteOptions;
import dev.lull.server.Scheduling;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

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
  boolean continueWritten; // event loop: the 100 Continue went out
  private volatile boolean gone;
  private volatile Thread thread;

  /**
   * The scheduler of its handler thread; null where event-loop scheduling is not available (an
   * ordinary virtual thread) and for an error exchange, which has no handler.
   */
  private final HandlerScheduler scheduler;

  // Cancellation. The cause is set once, under this lock, whichever comes first of the cause and
  // the context: most handlers never ask for the context, so it is made on first use; a deadline
  // makes it early. A deadline is a timer context (a child with withTimeout) that the handler never
  // sees: it sees a detached copy with the same deadline, which only this class cancels, so that
  // the handler's callbacks never run on the timer's thread (a context runs its callbacks, and its
  // children's, on the thread that cancels it).
  private volatile CancellationCause cancelCause;
  private Context root; // guarded by this: detached from the base context; cancelled with the cause
  private Context context; // guarded by this: what the handler gets: root, or the last in views
  private boolean contextShown; // guarded by this: the handler has it; a deadline can only shorten
  private List<Context>
      timers; // guarded by this: deadline timers, released when the handler returns
  private List<Context> views; // guarded by this: the handler's copies of them, cancelled with root
  volatile boolean interruptOnCancel;
  volatile int deadlineStatus = RouteOptions.DEFAULT_TIMEOUT_STATUS;
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
    // Before the thread starts: a cancellation that comes before run() must interrupt it too.
    this.interruptOnCancel = conn.engine.settings.interruptOnCancel();
    this.scheduler =
        Carriers.eventLoopAvailable()
            ? new HandlerScheduler(this, conn.engine.scheduling == Scheduling.SHARED)
            : null;
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
    this.scheduler = null;
  }

  static Exchange error(HttpConnection conn, HttpRequest request, HttpResponseStatus status) {
    return new Exchange(conn, request, status);
  }

  void start() {
    Thread t = Carriers.newThread(scheduler, this);
    thread = t;
    t.start();
  }

  /**
   * Handler thread: from now on the thread runs where {@code scheduling} says; it yields so that
   * its next stretch starts there. Does nothing where event-loop scheduling is not available.
   */
  void moveTo(Scheduling scheduling) {
    if (scheduler != null) scheduler.moveTo(scheduling);
  }

  @Override
  public void run() {
    req = new NettyRequest(this);
    res = new NettyResponse(this);
    // Cancelled between start() and now: the interrupt may have been lost on a thread not yet
    // running.
    if (cancelCause != null && interruptOnCancel) Thread.currentThread().interrupt();
    try {
      Duration timeout = conn.engine.settings.requestTimeout();
      if (!timeout.isZero()) applyDeadline(timeout);
      conn.engine.settings.handler().handle(req, res);
      res.finish();
    } catch (Throwable e) {
      res.fail(e);
    } finally {
      List<Context> toRelease;
      synchronized (this) {
        finished = true;
        toRelease = timers;
        timers = null;
      }
      body.close();
      thread = null;
      if (scheduler != null) scheduler.handlerFinished();
      if (toRelease != null) for (Context c : toRelease) c.release();
    }
  }

  /** The handler's view of this request's context, made on first use. */
  Context context() {
    Context c;
    synchronized (this) {
      root();
      c = context;
      contextShown = true;
    }
    CancellationCause why = cancelCause;
    if (why != null) cancelAll(why); // cancelled before the context existed
    return c;
  }

  /** The root context, made now if needed. Holds this lock. */
  private Context root() {
    if (root == null) {
      root = conn.engine.settings.baseContext().detached();
      context = root;
    }
    return root;
  }

  /** Handler thread, before the route's handler runs: a router passes its route's options. */
  void applyRouteOptions(RouteOptions options) {
    options.interruptOnCancel().ifPresent(v -> interruptOnCancel = v);
    options.timeoutStatus().ifPresent(v -> deadlineStatus = v);
    options.timeout().ifPresent(this::applyDeadline);
    options.scheduling().ifPresent(this::moveTo); // last: it may change threads
  }

  /**
   * Handler thread: from now on the request's deadline is {@code timeout} away; when it passes the
   * context is cancelled with DEADLINE_EXCEEDED and, if no response has started, the client gets
   * {@link #deadlineStatus}. It replaces an earlier deadline (the server's requestTimeout) as long
   * as the handler has not seen the context; after that, a context's deadline can only get sooner,
   * so the new one is nested in it.
   */
  void applyDeadline(Duration timeout) {
    Context parent;
    Context replaced = null;
    synchronized (this) {
      Context r = root();
      if (!contextShown && context != r) {
        replaced = timers.removeLast();
        views.removeLast();
        parent = r;
      } else {
        parent = context;
      }
    }
    if (replaced != null) replaced.release(); // its timer stops; nobody saw it
    Context timer = parent.withTimeout(timeout);
    timer.onCancel(
        () -> {
          // Its own deadline passed (a parent's cancellation passes its own cause, handled
          // already).
          if (timer.cause().orElse(null) == CancellationCause.DEADLINE_EXCEEDED) {
            cancel(CancellationCause.DEADLINE_EXCEEDED);
          }
        });
    Context view = timer.detached();
    synchronized (this) {
      if (finished) {
        timer.release();
        return;
      }
      if (timers == null) {
        timers = new ArrayList<>(2);
        views = new ArrayList<>(2);
      }
      timers.add(timer);
      views.add(view);
      context = view;
    }
  }

  CancellationCause cancelCause() {
    return cancelCause;
  }

  /**
   * Cancels this request with {@code why} unless it is already cancelled or its handler has
   * finished: cancels its context (running the handler's callbacks) and then interrupts its thread
   * (unless the route said not to), so that a handler woken by the interrupt finds its context
   * cancelled. Any thread. The handler's callbacks run on a virtual thread of their own: the caller
   * may be an event loop, the timer thread or the lifecycle's, none of which may wait, and a
   * callback may take a while (killing a process tree reads /proc).
   *
   * @return whether this call cancelled it
   */
  boolean cancel(CancellationCause why) {
    return cancel(why, null);
  }

  /**
   * As {@link #cancel(CancellationCause)}; {@code tell} (if not null) runs after the context is
   * cancelled and before the interrupt: whatever it makes the handler see (a failed body read), the
   * handler finds the cause in its context. Not run if this call did not cancel.
   */
  private boolean cancel(CancellationCause why, Runnable tell) {
    Context r;
    synchronized (this) {
      if (cancelCause != null || finished) return false;
      cancelCause = why;
      r = root;
    }
    conn.engine.countCancelled(why);
    if (r == null) {
      // Nobody asked for the context: no callbacks to run (context() cancels it when made).
      if (tell != null) tell.run();
      if (interruptOnCancel) interrupt();
    } else {
      conn.engine.cancelThreads.newThread(() -> cancelContext(why, tell)).start();
    }
    conn.cancelled(this, why);
    return true;
  }

  private void cancelContext(CancellationCause why, Runnable tell) {
    cancelAll(why);
    if (tell != null) tell.run();
    if (interruptOnCancel) interrupt();
  }

  /** Cancels every context the handler may hold: the root, and its views of deadlines. */
  private void cancelAll(CancellationCause why) {
    List<Context> all = new ArrayList<>(3);
    synchronized (this) {
      all.add(root);
      if (views != null) all.addAll(views);
    }
    for (Context c : all) {
      try {
        c.cancel(why);
      } catch (RuntimeException e) {
        // A callback of the handler's threw (after the others ran): its bug, said once, without a
        // stack trace.
        LOG.log(
            System.Logger.Level.WARNING,
            "onCancel callback failed: "
                + request.method()
                + " "
                + request.uri()
                + ": "
                + e
                + (e.getStackTrace().length > 0 ? " at " + e.getStackTrace()[0] : ""));
      }
    }
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
    Runnable tell =
        () -> {
          gone = true;
          body.fail(e);
        };
    // A handler that finds out from its body or its writes finds the cause in its context too.
    if (thread == null || !cancel(CancellationCause.CLIENT_DISCONNECTED, tell)) tell.run();
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
