package dev.lull.server.internal;

import dev.lull.server.Hijacked;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A hijacked connection: the HTTP codec is gone from the pipeline and {@link HttpConnection} hands
 * every byte it receives here. Input is buffered as a request body is ({@link RequestBody}: the
 * socket is not read while {@link HttpConnection#BODY_HIGH_WATER} bytes wait); output blocks the
 * writing thread while the channel is not writable. Fields without a comment are touched on the
 * event loop only.
 */
final class RawConnection implements Hijacked {
  private final HttpConnection conn;
  private final Channel channel;
  private final RequestBody buffer;
  private final InputStream input;
  private final RawOutput output = new RawOutput();
  private final AtomicBoolean closeRequested = new AtomicBoolean();
  private boolean readingPaused;
  private boolean inputEnded;
  private boolean outputShut;

  RawConnection(HttpConnection conn) {
    this.conn = conn;
    this.channel = conn.channel;
    this.buffer = new RequestBody("the hijacked connection", () -> {}, this::resumeReading);
    this.input =
        new FilterInputStream(buffer) {
          @Override
          public void close() {
            buffer.close();
            resumeReading(); // whatever arrives now is dropped; never leave the socket unread
          }
        };
  }

  @Override
  public InputStream input() {
    return input;
  }

  @Override
  public OutputStream output() {
    return output;
  }

  @Override
  public void close() {
    if (!closeRequested.compareAndSet(false, true)) return;
    output.closed = true;
    buffer.close();
    // After the writes already queued: the client gets every byte written before close().
    channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
  }

  /** Whether the handler closed the connection itself (then its context is not cancelled). */
  boolean closedByHandler() {
    return closeRequested.get();
  }

  // ------------------------------------------------------------------ event loop

  /** For tests: whether the socket is not read because the input holds too much. */
  boolean isReadingPaused() {
    return readingPaused;
  }

  /** For tests: bytes received that the handler has not read. */
  int buffered() {
    return buffer.buffered();
  }

  /** Bytes from the client. */
  void received(Object msg) {
    if (!(msg instanceof ByteBuf buf) || !buf.isReadable()) {
      ReferenceCountUtil.release(msg);
      return;
    }
    buffer.offer(buf);
    updateReading();
  }

  /** Pauses reading the socket while too much waits unread; resumes below the low-water mark. */
  private void updateReading() {
    // Once the client has shut down its side there is nothing more to read: leave autoRead alone
    // (with epoll, turning reading back on after the input shutdown fails with ENOENT from
    // epoll_ctl, and Netty closes the connection; it has read everything up to the end anyway).
    if (!channel.isActive() || inputEnded) return;
    int buffered = buffer.buffered();
    boolean pause =
        readingPaused
            ? buffered >= HttpConnection.BODY_LOW_WATER
            : buffered >= HttpConnection.BODY_HIGH_WATER;
    if (pause == readingPaused) return;
    readingPaused = pause;
    channel.config().setAutoRead(!pause);
  }

  /** The client shut down its output (half-close): reads end after what is buffered. */
  void inputShutdown() {
    inputEnded = true;
    buffer.end();
    if (outputShut) channel.close(); // nothing can flow either way any more
  }

  /** The connection closed: what was not read is dropped, and reads fail. */
  void connectionClosed() {
    buffer.abort(new ClientGoneException());
  }

  private void shutdownOutput() {
    if (!(channel instanceof DuplexChannel duplex)) {
      channel.close();
      return;
    }
    channel
        .writeAndFlush(Unpooled.EMPTY_BUFFER)
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (!f.isSuccess() || !channel.isActive()) {
                    channel.close();
                    return;
                  }
                  duplex
                      .shutdownOutput()
                      .addListener(
                          (ChannelFutureListener)
                              g -> {
                                outputShut = true;
                                if (inputEnded || !g.isSuccess()) channel.close();
                              });
                });
  }

  // ------------------------------------------------------------------ any thread

  private void resumeReading() {
    try {
      channel.eventLoop().execute(this::updateReading);
    } catch (RejectedExecutionException e) {
      // the server has stopped its event loops: the connection is gone
    }
  }

  /** Unbuffered, as a socket's output stream: every write goes out at once. */
  private final class RawOutput extends OutputStream {
    private volatile boolean closed;

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      java.util.Objects.checkFromIndexSize(off, len, b.length);
      if (closed) throw new IOException("the hijacked connection's output is closed");
      if (!channel.isActive()) throw new ClientGoneException();
      if (len == 0) return;
      ByteBuf buf = channel.alloc().buffer(len);
      buf.writeBytes(b, off, len);
      channel.writeAndFlush(buf, channel.voidPromise());
      awaitWritable();
    }

    @Override
    public void close() {
      if (closed) return;
      closed = true;
      try {
        channel.eventLoop().execute(RawConnection.this::shutdownOutput);
      } catch (RejectedExecutionException e) {
        // already gone
      }
    }

    /** Blocks the writing thread while the connection has more queued than it can take. */
    private void awaitWritable() throws IOException {
      if (channel.isWritable()) return;
      conn.writeLock.lock();
      try {
        while (!channel.isWritable()) {
          if (!channel.isActive()) throw new ClientGoneException();
          conn.writableChanged.await();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while writing to the hijacked connection");
      } finally {
        conn.writeLock.unlock();
      }
    }
  }
}
