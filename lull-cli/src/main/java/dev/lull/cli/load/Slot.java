package dev.lull.cli.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.Locale;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One of the run's N connections: at most one channel open at a time, at most one request on it.
 * The channel is reused for the next request unless the response said {@code Connection: close},
 * the server closed it, or a request on it failed; then the old channel is closed and the next
 * request opens a new one only after the old one's close completed, so the run never holds more
 * than N connections. Confined to its worker's event loop.
 */
final class Slot {
  private final Worker worker;
  private final Stats stats;
  private final Bootstrap bootstrap;
  private final long timeoutNanos;

  private Channel channel; // the latest channel, possibly closing or closed
  private boolean usable; // channel is connected and may carry the next request
  private int exchangesOnChannel; // complete responses received on channel
  private boolean everConnected;
  private Exchange current;

  /** One request, from being sent to its outcome; one retry at most. */
  private static final class Exchange {
    final long originNanos; // latency is measured from here
    ScheduledFuture<?> timer;
    Channel on; // the channel the request was written to, null while connecting
    boolean reused; // on had carried a complete exchange before this one
    boolean bytesSeen; // some byte of the response arrived on `on`
    boolean retried;
    int status; // final status, 0 until its head arrived
    boolean keepAlive;

    Exchange(long originNanos) {
      this.originNanos = originNanos;
    }
  }

  Slot(Worker worker, Stats stats, Bootstrap template, long timeoutNanos, boolean head) {
    this.worker = worker;
    this.stats = stats;
    this.timeoutNanos = timeoutNanos;
    Slot self = this;
    this.bootstrap =
        template
            .clone()
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ch.pipeline()
                        .addLast(
                            new ClientHandlers.FirstBytes(self),
                            new ClientHandlers.Decoder(head),
                            new ClientHandlers.Responses(self));
                  }
                });
  }

  /** Sends a new request whose latency counts from {@code originNanos}. */
  void send(long originNanos) {
    Exchange x = new Exchange(originNanos);
    current = x;
    x.timer = worker.loop.schedule(() -> timedOut(x), timeoutNanos, TimeUnit.NANOSECONDS);
    attempt(x);
  }

  /**
   * Opens the connection ahead of the first request, so the run's clock starts with the connection
   * made; runs {@code done} either way. A failure here is not a request failure: the first request
   * tries again and counts its own outcome.
   */
  void preconnect(Runnable done) {
    ChannelFuture cf = newChannel();
    Channel c = cf.channel();
    channel = c;
    exchangesOnChannel = 0;
    cf.addListener(
        f -> {
          if (f.isSuccess() && channel == c && current == null) {
            stats.opened.increment();
            everConnected = true;
            usable = true;
          } else {
            c.close();
            if (channel == c && current == null) channel = null;
          }
          done.run();
        });
  }

  /** Closes the connection; the run is over. */
  void close() {
    usable = false;
    if (channel != null) channel.close();
  }

  private void attempt(Exchange x) {
    if (usable && channel.isActive()) {
      write(x, channel, exchangesOnChannel > 0);
      return;
    }
    usable = false;
    Channel old = channel;
    if (old == null) {
      connect(x);
    } else {
      old.close();
      old.closeFuture()
          .addListener(
              f -> {
                if (current == x && x.on == null) connect(x);
              });
    }
  }

  private ChannelFuture newChannel() {
    ChannelFuture cf = bootstrap.connect();
    stats.channelCreated();
    cf.channel().closeFuture().addListener(f -> stats.channelClosed());
    return cf;
  }

  private void connect(Exchange x) {
    ChannelFuture cf = newChannel();
    Channel c = cf.channel();
    channel = c;
    exchangesOnChannel = 0;
    cf.addListener(
        f -> {
          if (current != x || channel != c) {
            c.close(); // the request timed out while connecting
            return;
          }
          if (!f.isSuccess()) {
            channel = null;
            c.close();
            fail(
                x,
                f.cause() instanceof ConnectTimeoutException
                    ? FailureKind.TIMEOUT
                    : FailureKind.REFUSED);
            return;
          }
          stats.opened.increment();
          if (everConnected) stats.reconnects.increment();
          everConnected = true;
          usable = true;
          write(x, c, false);
        });
  }

  private void write(Exchange x, Channel c, boolean reused) {
    x.on = c;
    x.reused = reused;
    x.bytesSeen = false;
    x.status = 0;
    // A write failure reaches Responses.exceptionCaught, then lost().
    c.writeAndFlush(worker.newRequest(), c.voidPromise());
  }

  void bytesArrived(Channel c) {
    Exchange x = current;
    if (x != null && x.on == c) x.bytesSeen = true;
  }

  void head(Channel c, HttpResponse head) {
    Exchange x = current;
    if (x == null || x.on != c) return;
    if (head.decoderResult().isFailure()) {
      lost(c, head.decoderResult().cause());
      return;
    }
    int code = head.status().code();
    if (code >= 100 && code < 200 && code != 101) return; // interim; the final response follows
    x.status = code;
    x.keepAlive = HttpUtil.isKeepAlive(head);
  }

  void content(Channel c, HttpContent content) {
    Exchange x = current;
    if (x == null || x.on != c) return;
    if (content.decoderResult().isFailure()) {
      lost(c, content.decoderResult().cause());
      return;
    }
    if (content instanceof LastHttpContent && x.status != 0) complete(x, c);
  }

  /**
   * Channel {@code c} failed ({@code cause}) or closed ({@code cause == null}). If a request was in
   * flight on it, that request is retried once on a new connection when it may be: idempotent,
   * written to a reused connection, and no byte of its response arrived: the server closed an idle
   * keep-alive connection just as we reused it, so it cannot have processed the request. Otherwise
   * it fails.
   */
  void lost(Channel c, Throwable cause) {
    if (c == channel) usable = false;
    c.close();
    Exchange x = current;
    if (x == null || x.on != c) return;
    x.on = null;
    FailureKind kind = cause == null ? FailureKind.CLOSED : classify(cause);
    if ((kind == FailureKind.CLOSED || kind == FailureKind.RESET)
        && x.reused
        && !x.bytesSeen
        && !x.retried
        && worker.idempotent) {
      x.retried = true;
      stats.retried.increment();
      attempt(x);
      return;
    }
    fail(x, kind);
  }

  private void timedOut(Exchange x) {
    if (current != x) return;
    usable = false;
    Channel c = x.on != null ? x.on : channel;
    x.on = null;
    if (c != null) c.close();
    fail(x, FailureKind.TIMEOUT);
  }

  private void complete(Exchange x, Channel c) {
    x.timer.cancel(false);
    x.on = null;
    current = null;
    exchangesOnChannel++;
    if (!x.keepAlive) {
      usable = false;
      c.close();
    }
    stats.response(x.status, System.nanoTime() - x.originNanos);
    worker.freed(this, true);
  }

  private void fail(Exchange x, FailureKind kind) {
    x.timer.cancel(false);
    current = null;
    stats.failure(kind);
    worker.freed(this, false);
  }

  static FailureKind classify(Throwable t) {
    if (t instanceof ConnectTimeoutException) return FailureKind.TIMEOUT;
    if (t instanceof PrematureChannelClosureException || t instanceof ClosedChannelException) {
      return FailureKind.CLOSED;
    }
    if (t instanceof DecoderException) return FailureKind.OTHER;
    if (t instanceof IOException) {
      String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
      if (m.contains("reset")) return FailureKind.RESET;
      if (m.contains("broken pipe")) return FailureKind.CLOSED;
    }
    return FailureKind.OTHER;
  }
}
