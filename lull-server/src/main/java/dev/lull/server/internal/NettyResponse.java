package dev.lull.server.internal;

import dev.lull.core.CancellationCause;
import dev.lull.server.Hijacked;
import dev.lull.server.Response;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;

/** The response side of an exchange; used by the handler thread only. */
final class NettyResponse implements Response {
  private final Exchange ex;
  private final Channel channel;
  private final HttpHeaders headers = new DefaultHttpHeaders();
  private int status = 200;
  private boolean committed;
  private boolean completed;
  private BodyStream stream;

  NettyResponse(Exchange ex) {
    this.ex = ex;
    this.channel = ex.conn.channel;
  }

  @Override
  public Response status(int code) {
    // 1xx are interim responses, never the final one a handler sends.
    if (code < 200 || code > 999) {
      throw new IllegalArgumentException("status out of range 200-999: " + code);
    }
    checkNotCommitted();
    this.status = code;
    return this;
  }

  @Override
  public int status() {
    return status;
  }

  @Override
  public Response header(String name, String value) {
    checkNotCommitted();
    headers.set(name, value);
    return this;
  }

  @Override
  public Response addHeader(String name, String value) {
    checkNotCommitted();
    headers.add(name, value);
    return this;
  }

  @Override
  public boolean isCommitted() {
    return committed;
  }

  private void checkNotCommitted() {
    if (committed) throw new IllegalStateException("response already committed");
  }

  @Override
  public void send(String body) {
    checkNotCommitted();
    if (!headers.contains(HttpHeaderNames.CONTENT_TYPE)) {
      headers.set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    }
    send(body.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public void send(byte[] body) {
    checkNotCommitted();
    if (stream != null) {
      if (stream.count > 0) throw new IllegalStateException("body() was already written to");
      stream.closed = true;
    }
    sendFull(Unpooled.wrappedBuffer(body), body.length);
  }

  private void sendFull(ByteBuf content, int length) {
    committed = true;
    completed = true;
    HttpResponseStatus st = HttpResponseStatus.valueOf(status);
    boolean bodyAllowed = bodyAllowed(status);
    if (!bodyAllowed) {
      headers.remove(HttpHeaderNames.CONTENT_LENGTH);
    } else if (length > 0 || !ex.isHead() || !headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
      // A HEAD handler may state the length of the body it does not send.
      headers.setInt(HttpHeaderNames.CONTENT_LENGTH, length);
    }
    headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
    headers.set(HttpHeaderNames.DATE, HttpDates.now());
    ByteBuf payload = content;
    if (!bodyAllowed || ex.isHead()) {
      content.release();
      payload = Unpooled.EMPTY_BUFFER;
    }
    FullHttpResponse res =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, st, payload, headers, EmptyHttpHeaders.INSTANCE);
    if (ex.isGone()) {
      res.release();
      throw new UncheckedIOException(new ClientGoneException());
    }
    post(res, false);
  }

  private void post(HttpObject last, boolean abort) {
    try {
      channel.eventLoop().execute(() -> ex.conn.complete(ex, last, abort));
    } catch (RejectedExecutionException e) {
      // The server has stopped its event loops: the connection is gone.
      ReferenceCountUtil.release(last);
      throw new UncheckedIOException(new ClientGoneException());
    }
  }

  private void postHead(HttpResponse head) {
    try {
      channel.eventLoop().execute(() -> ex.conn.writeHead(ex, head));
    } catch (RejectedExecutionException e) {
      throw new UncheckedIOException(new ClientGoneException());
    }
  }

  private static boolean bodyAllowed(int status) {
    return status >= 200 && status != 204 && status != 304;
  }

  @Override
  public OutputStream body() {
    if (stream == null) {
      if (completed) throw new IllegalStateException("response already sent");
      stream = new BodyStream(Math.max(ex.conn.engine.settings.responseBufferSize(), 1));
    }
    return stream;
  }

  @Override
  public Hijacked hijack() {
    checkNotCommitted();
    if (stream != null && (stream.count > 0 || stream.closed)) {
      throw new IllegalStateException("body() was already written to");
    }
    if (ex.isGone()) throw new UncheckedIOException(new ClientGoneException());
    CompletableFuture<RawConnection> taken = new CompletableFuture<>();
    try {
      channel.eventLoop().execute(() -> ex.conn.hijack(ex, taken));
    } catch (RejectedExecutionException e) {
      throw new UncheckedIOException(new ClientGoneException());
    }
    RawConnection raw;
    try {
      raw = taken.join(); // the event loop answers at once; not interruptible, so nothing leaks
    } catch (CompletionException e) {
      if (e.getCause() instanceof IllegalStateException refused) {
        throw new IllegalStateException(refused.getMessage(), refused);
      }
      throw new UncheckedIOException(new ClientGoneException());
    }
    // Lull sends nothing more for this request, whatever the handler does next.
    committed = true;
    completed = true;
    if (stream != null) stream.closed = true;
    return raw;
  }

  /** After the handler returned: completes a response the handler left open. */
  void finish() throws IOException {
    if (completed) return;
    CancellationCause why = ex.cancelCause();
    if (why != null && !committed && (stream == null || stream.count == 0)) {
      // Cancelled, and the handler returned without answering: say why.
      sendCancelled(why);
      return;
    }
    if (stream != null) {
      stream.close();
    } else {
      sendFull(Unpooled.EMPTY_BUFFER, 0);
    }
  }

  /** After the handler threw. */
  void fail(Throwable e) {
    if (ex.isGone() || cause(e, ClientGoneException.class) != null) {
      // The client left: an expected outcome, not an error.
      abort();
      return;
    }
    CancellationCause why = ex.cancelCause();
    if (why != null) {
      // Whatever the handler threw once cancelled (CancelledException, InterruptedException, an
      // interrupted read...) is the cancellation's outcome, not a handler failure: no log.
      if (completed) return;
      if (committed) {
        abort();
      } else {
        sendCancelled(why);
      }
      return;
    }
    RequestBodyException bad = cause(e, RequestBodyException.class);
    if (bad == null) Exchange.logHandlerFailure(ex, e);
    if (completed) return;
    if (committed) {
      abort();
      return;
    }
    headers.clear();
    status = bad != null ? bad.status() : 500;
    HttpResponseStatus st = HttpResponseStatus.valueOf(status);
    byte[] body = (status + " " + st.reasonPhrase() + "\n").getBytes(StandardCharsets.US_ASCII);
    headers.set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    if (stream != null) stream.discard();
    try {
      sendFull(Unpooled.wrappedBuffer(body), body.length);
    } catch (UncheckedIOException gone) {
      // nobody to tell
    }
  }

  /** Answers a cancelled request that has no response yet: 503 (or the route's status), close. */
  private void sendCancelled(CancellationCause why) {
    if (why == CancellationCause.CLIENT_DISCONNECTED) {
      abort();
      return;
    }
    headers.clear();
    status = why == CancellationCause.DEADLINE_EXCEEDED ? ex.deadlineStatus : 503;
    String reason =
        switch (why) {
          case DEADLINE_EXCEEDED -> "request deadline exceeded\n";
          case SERVER_STOPPING -> "server stopping\n";
          default -> "request cancelled\n";
        };
    byte[] body = reason.getBytes(StandardCharsets.US_ASCII);
    headers.set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    headers.set(HttpHeaderNames.CONNECTION, "close");
    if (stream != null) stream.discard();
    try {
      sendFull(Unpooled.wrappedBuffer(body), body.length);
    } catch (UncheckedIOException gone) {
      // nobody to tell
    }
  }

  /** Ends the exchange without completing the response; the connection closes. */
  private void abort() {
    if (completed) return;
    completed = true;
    try {
      post(null, true);
    } catch (UncheckedIOException gone) {
      // already closed
    }
  }

  /** {@code e} or its first cause of type {@code type}, or null. */
  private static <T extends Throwable> T cause(Throwable e, Class<T> type) {
    for (int depth = 0; e != null && depth < 8; e = e.getCause(), depth++) {
      if (type.isInstance(e)) return type.cast(e);
    }
    return null;
  }

  /** The streamed body; buffers up to the response buffer size before committing. */
  private final class BodyStream extends OutputStream {
    private byte[] buf;
    private int count;
    private long written;
    private long declared = -1;
    private boolean closed;

    BodyStream(int size) {
      this.buf = new byte[size];
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      java.util.Objects.checkFromIndexSize(off, len, b.length);
      checkOpen();
      if (len <= buf.length - count) {
        System.arraycopy(b, off, buf, count, len);
        count += len;
        return;
      }
      sendBuffered(false);
      if (len >= buf.length) {
        ByteBuf chunk = channel.alloc().buffer(len);
        chunk.writeBytes(b, off, len);
        writeChunk(chunk, false);
      } else {
        System.arraycopy(b, off, buf, 0, len);
        count = len;
      }
    }

    @Override
    public void flush() throws IOException {
      checkOpen();
      sendBuffered(true);
    }

    @Override
    public void close() throws IOException {
      if (closed) return;
      if (!committed) {
        // Everything fit in the buffer: one write with Content-Length.
        String cl = headers.get(HttpHeaderNames.CONTENT_LENGTH);
        if (cl != null
            && !ex.isHead()
            && bodyAllowed(status)
            && !cl.equals(Integer.toString(count))) {
          throw new IOException("body of " + count + " bytes does not match Content-Length " + cl);
        }
        closed = true;
        int n = count;
        count = 0;
        sendFull(Unpooled.wrappedBuffer(buf, 0, n), n);
        return;
      }
      closed = true;
      sendBuffered(false);
      if (declared >= 0 && written != declared && !ex.isHead() && bodyAllowed(status)) {
        abort();
        throw new IOException(
            "body of " + written + " bytes does not match Content-Length " + declared);
      }
      completed = true;
      if (ex.isGone()) throw new ClientGoneException();
      post(LastHttpContent.EMPTY_LAST_CONTENT, false);
    }

    void discard() {
      count = 0;
      closed = true;
    }

    private void checkOpen() throws IOException {
      if (closed || completed) throw new IOException("response body closed");
      if (ex.isGone()) throw new ClientGoneException();
    }

    private void commit() {
      committed = true;
      HttpResponseStatus st = HttpResponseStatus.valueOf(status);
      headers.set(HttpHeaderNames.DATE, HttpDates.now());
      String cl = headers.get(HttpHeaderNames.CONTENT_LENGTH);
      if (cl != null) {
        try {
          declared = Long.parseLong(cl);
        } catch (NumberFormatException e) {
          throw new IllegalStateException("invalid Content-Length header: " + cl);
        }
        headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
      } else if (bodyAllowed(status) && ex.request.protocolVersion().equals(HttpVersion.HTTP_1_1)) {
        headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      }
      HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, st, headers);
      postHead(head);
    }

    private void sendBuffered(boolean flush) throws IOException {
      if (!committed) commit();
      if (count > 0) {
        ByteBuf chunk = channel.alloc().buffer(count);
        chunk.writeBytes(buf, 0, count);
        count = 0;
        writeChunk(chunk, flush);
      } else if (flush) {
        channel.flush();
      }
    }

    private void writeChunk(ByteBuf chunk, boolean flush) throws IOException {
      written += chunk.readableBytes();
      if (declared >= 0 && written > declared) {
        chunk.release();
        throw new IOException("body longer than Content-Length " + declared);
      }
      if (ex.isHead() || !bodyAllowed(status)) {
        chunk.release();
        return;
      }
      if (ex.timedOut) {
        // The server answered for this request already (its deadline passed).
        chunk.release();
        throw new IOException("request deadline exceeded");
      }
      if (flush) {
        channel.writeAndFlush(new DefaultHttpContent(chunk), channel.voidPromise());
      } else {
        channel.write(new DefaultHttpContent(chunk), channel.voidPromise());
      }
      awaitWritable();
    }

    /** Blocks the handler thread while the connection has more queued than it can take. */
    private void awaitWritable() throws IOException {
      if (channel.isWritable()) return;
      channel.flush();
      HttpConnection conn = ex.conn;
      conn.writeLock.lock();
      try {
        while (!channel.isWritable()) {
          if (!channel.isActive() || ex.isGone()) throw new ClientGoneException();
          conn.writableChanged.await();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while writing the response");
      } finally {
        conn.writeLock.unlock();
      }
    }
  }
}
