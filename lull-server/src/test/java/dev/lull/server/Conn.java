package dev.lull.server;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** A raw client connection: writes exact bytes, reads responses with {@link RawHttp}. */
public final class Conn implements AutoCloseable {
  public final Socket socket;
  public final InputStream in;
  public final OutputStream out;

  public Conn(Socket socket) throws IOException {
    this.socket = socket;
    socket.setSoTimeout(10_000);
    socket.setTcpNoDelay(true);
    this.in = new BufferedInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
  }

  /** Writes {@code text} as ISO-8859-1 bytes and flushes. */
  public Conn send(String text) {
    return send(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  public Conn send(byte[] bytes) {
    try {
      out.write(bytes);
      out.flush();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public RawHttp.Response read() throws IOException {
    return RawHttp.read(in);
  }

  /** Reads the response to a HEAD request: status and headers, no body. */
  public RawHttp.Response readHeadResponse() throws IOException {
    return RawHttp.read(in, true);
  }

  /**
   * Waits until the server closes the connection (end of stream or reset) and returns how long that
   * took; fails if bytes arrive or it stays open past {@code deadline}.
   */
  public Duration awaitClose(Duration deadline) throws IOException {
    long start = System.nanoTime();
    long end = start + deadline.toNanos();
    try {
      while (true) {
        long left = end - System.nanoTime();
        if (left <= 0) throw new AssertionError("connection still open after " + deadline);
        socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
        int b = in.read();
        if (b < 0) break;
        throw new AssertionError("unexpected byte from the server: " + (char) b);
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("connection still open after " + deadline);
    } catch (SocketException e) {
      // connection reset: closed as well
    }
    return Duration.ofNanos(System.nanoTime() - start);
  }

  /**
   * Reads until the server closes the connection (end of stream or reset) and returns what it sent
   * before; fails if it stays open past {@code deadline}.
   */
  public byte[] readUntilClosed(Duration deadline) throws IOException {
    long end = System.nanoTime() + deadline.toNanos();
    java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
    try {
      while (true) {
        long left = end - System.nanoTime();
        if (left <= 0) throw new AssertionError("connection still open after " + deadline);
        socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
        int b = in.read();
        if (b < 0) break;
        got.write(b);
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("connection still open after " + deadline + ", got: " + got);
    } catch (SocketException e) {
      // connection reset: closed as well
    }
    return got.toByteArray();
  }

  /** Whether nothing arrives (and the connection stays open) for {@code quiet}. */
  public boolean staysSilentFor(Duration quiet) throws IOException {
    int old = socket.getSoTimeout();
    socket.setSoTimeout((int) quiet.toMillis());
    try {
      in.mark(1);
      int b = in.read();
      in.reset();
      return false; // a byte, or the end of the stream
    } catch (SocketTimeoutException e) {
      return true;
    } finally {
      socket.setSoTimeout(old);
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
