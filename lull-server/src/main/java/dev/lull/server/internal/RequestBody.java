package dev.lull.server.internal;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A request body as a blocking stream: the event loop offers chunks, the handler thread reads them.
 * The connection stops reading while more than {@link HttpConnection#BODY_HIGH_WATER} bytes wait
 * here, and resumes when the handler has read them down below the low-water mark. Also the input of
 * a hijacked connection.
 */
final class RequestBody extends InputStream {
  private final String what;
  private final Runnable beforeRead;
  private final Runnable belowLowWater;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<ByteBuf> chunks = new ArrayDeque<>();
  private int buffered;
  private boolean ended;
  private boolean closed;
  private IOException failure;

  RequestBody(Exchange exchange) {
    this("the request body", exchange::beforeBodyRead, exchange::resumeReading);
  }

  /**
   * @param what what is read, for error messages
   * @param beforeRead runs on the reading thread before every read (sends 100 Continue)
   * @param belowLowWater runs on the reading thread when a read takes the buffered bytes below the
   *     low-water mark: the connection may read again
   */
  RequestBody(String what, Runnable beforeRead, Runnable belowLowWater) {
    this.what = what;
    this.beforeRead = beforeRead;
    this.belowLowWater = belowLowWater;
  }

  /** Event loop: a chunk arrived; takes ownership of {@code buf}. */
  void offer(ByteBuf buf) {
    lock.lock();
    try {
      if (closed || failure != null) {
        buf.release();
        return;
      }
      chunks.add(buf);
      buffered += buf.readableBytes();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Event loop: the body is complete. */
  void end() {
    lock.lock();
    try {
      ended = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** The body cannot complete: reads of what is not buffered yet throw {@code e}. */
  void fail(IOException e) {
    lock.lock();
    try {
      if (ended || failure != null) return;
      failure = e;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * The connection is gone: releases what is buffered (as the kernel drops unread bytes of a reset
   * socket) and fails every later read with {@code e}. For a hijacked connection, whose reader may
   * have been abandoned.
   */
  void abort(IOException e) {
    lock.lock();
    try {
      ByteBuf b;
      while ((b = chunks.poll()) != null) b.release();
      buffered = 0;
      if (failure == null) failure = e;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  int buffered() {
    lock.lock();
    try {
      return buffered;
    } finally {
      lock.unlock();
    }
  }

  boolean isComplete() {
    lock.lock();
    try {
      return ended;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) return 0;
    beforeRead.run();
    boolean resume;
    int n;
    lock.lock();
    try {
      while (chunks.isEmpty() && !ended && failure == null && !closed) {
        try {
          changed.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while reading " + what);
        }
      }
      if (closed) throw new IOException(what + " is closed");
      if (chunks.isEmpty()) {
        if (failure != null) throw failure;
        return -1;
      }
      ByteBuf first = chunks.peek();
      n = Math.min(len, first.readableBytes());
      first.readBytes(b, off, n);
      if (!first.isReadable()) {
        chunks.poll();
        first.release();
      }
      int before = buffered;
      buffered -= n;
      resume = before >= HttpConnection.BODY_LOW_WATER && buffered < HttpConnection.BODY_LOW_WATER;
    } finally {
      lock.unlock();
    }
    if (resume) belowLowWater.run();
    return n;
  }

  @Override
  public int available() {
    return buffered();
  }

  /** Releases what is buffered; later reads fail. Safe from any thread, more than once. */
  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      ByteBuf b;
      while ((b = chunks.poll()) != null) b.release();
      buffered = 0;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }
}
