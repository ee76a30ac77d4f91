package dev.lull.server;

import java.io.InputStream;
import java.io.OutputStream;

/**
 * A connection taken over by its handler with {@link Response#hijack()}: raw bytes both ways, no
 * HTTP. As with Go's {@code http.Hijacker}, Lull no longer does anything with the connection but
 * count it ({@link dev.lull.core.ConnectionState#HIJACKED}, busy until it closes): closing it is
 * the caller's job, also after the handler returns, which may hand it to another thread.
 *
 * <p>Lull's graceful stop does not wait for a hijacked connection beyond {@code stopTimeout}: then
 * the handler's context is cancelled and its thread interrupted (if it still runs), and after
 * {@code killTimeout} the connection is force-closed. A hijacked connection also keeps the server
 * from exiting idle for as long as it is open. The request's context stays the handler's: it is
 * cancelled (and the handler's thread interrupted) when the connection closes under it, at the
 * request's deadline if one is set, and at the stop timeout. Use it for protocol upgrades and raw
 * streams.
 *
 * <p>Both streams block, and apply backpressure: reading stops from the socket while {@link
 * #input()} holds 64 KiB the caller has not read, and a write blocks while the client does not
 * read.
 */
public interface Hijacked extends AutoCloseable {
  /**
   * The bytes the client sends, starting with any it sent after the request before the response.
   * Returns -1 once the client has shut down its side of the connection (it may still read what
   * {@link #output()} writes); throws an {@link java.io.IOException} if the connection is gone.
   */
  InputStream input();

  /**
   * The bytes to send, unbuffered: each {@code write} goes out at once, as on a socket, and blocks
   * while the client does not keep up. {@code close()} shuts down the output only (the client reads
   * the end of the stream; the connection closes once the client has shut down its side too).
   */
  OutputStream output();

  /**
   * Closes the connection once what was written has gone out, and returns at once. Idempotent. Lull
   * does not cancel the handler's context because of a close it asked for.
   */
  @Override
  void close();
}
