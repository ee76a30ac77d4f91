package dev.lull.server.internal;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.util.concurrent.TimeUnit;

/**
 * Tells a client that half-closed (shut down its output, still reads) from one that closed, once
 * the end of its input arrived while requests are still being served. Both look the same to the
 * server: a FIN. The difference shows when the server sends something: a socket that was closed
 * answers data with a reset, a half-closed one takes it.
 *
 * <ol>
 *   <li>If the running request is HTTP/1.1 and its response has not started, the server sends an
 *       interim {@code 100 Continue}, which a client must accept at any time before the final
 *       response (RFC 9110 15.2) and which clients skip. (Not to HTTP/1.0 clients, which must not
 *       get 1xx: they are found out by the response itself.) On a Unix socket whose peer is closed
 *       the write fails at once and the channel closes.
 *   <li>On TCP, the reset arrives a round trip later. Netty does not report a reset on a channel
 *       whose input is shut down, so the kernel is asked ({@code TCP_INFO}: state CLOSE) after 1
 *       ms, then less and less often (up to every {@link #MAX_INTERVAL_MILLIS} ms) until the
 *       connection closes. This also catches a client that half-closed and closes later, and the
 *       common case of a client that shuts down its output just before closing (Java's {@code
 *       Socket.close()} does), which briefly looks half-closed and then resets the probe it did not
 *       read.
 * </ol>
 *
 * A client found closed is cancelled as {@code CLIENT_DISCONNECTED} (channelInactive).
 */
final class HalfClose {
  /** {@code TCP_CLOSE} in the kernel's {@code tcp_states.h}: a reset arrived. */
  private static final int TCP_CLOSE = 7;

  /** The longest pause between two looks at the connection's TCP state. */
  static final long MAX_INTERVAL_MILLIS = 50;

  private HalfClose() {}

  /** Event loop: the input of {@code conn} ended while requests are running or waiting. */
  static void watch(HttpConnection conn) {
    Exchange ex = conn.running();
    if (ex != null
        && !ex.responseStarted
        && ex.errorStatus == null
        && ex.request.protocolVersion().equals(HttpVersion.HTTP_1_1)) {
      // A failed write closes the channel (autoClose): channelInactive cancels.
      conn.ctx.writeAndFlush(
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER));
    }
    if (conn.channel instanceof EpollSocketChannel) {
      conn.channel.eventLoop().execute(() -> check(conn, 1));
    }
  }

  private static void check(HttpConnection conn, long delayMillis) {
    Channel ch = conn.channel;
    if (!ch.isActive()) return;
    if (((EpollSocketChannel) ch).tcpInfo().state() == TCP_CLOSE) {
      ch.close(); // the client reset what we sent: it is gone
      return;
    }
    ch.eventLoop()
        .schedule(
            () -> check(conn, Math.min(MAX_INTERVAL_MILLIS, delayMillis * 2)),
            delayMillis,
            TimeUnit.MILLISECONDS);
  }
}
