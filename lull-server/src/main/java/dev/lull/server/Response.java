package dev.lull.server;

import java.io.OutputStream;

/**
 * The response to one request. Small bodies go out in one write with {@code Content-Length} ({@link
 * #send(byte[])}); large or open-ended bodies stream through {@link #body()}, with chunked encoding
 * unless the handler set {@code Content-Length}. Writing blocks the handler's thread while the
 * connection cannot take more (backpressure).
 *
 * <p>Status and headers can change until the response is committed: by {@code send}, or by the
 * first {@link OutputStream#flush()} or buffer overflow of {@link #body()}.
 */
public interface Response {
  /**
   * Sets the status code (default 200).
   *
   * @throws IllegalArgumentException outside 200-999: interim (1xx) responses are Lull's
   * @throws IllegalStateException if the response is already committed
   */
  Response status(int code);

  /** The status code set so far. */
  int status();

  /**
   * Sets header {@code name} to {@code value}, replacing earlier values. {@code Connection: close}
   * closes the connection after this response.
   *
   * @throws IllegalArgumentException if the name or value is not valid in HTTP (for example a value
   *     with CR or LF)
   */
  Response header(String name, String value);

  /** Adds a value to header {@code name}. */
  Response addHeader(String name, String value);

  /**
   * Sends {@code body} with {@code Content-Length} and completes the response.
   *
   * @throws IllegalStateException if the response is already committed
   * @throws java.io.UncheckedIOException if the client is gone
   */
  void send(byte[] body);

  /**
   * Sends {@code body} as UTF-8 and completes the response; sets {@code Content-Type: text/plain;
   * charset=utf-8} unless a content type was set.
   */
  void send(String body);

  /** Sets the status, then {@link #send(String)}. */
  default void send(int status, String body) {
    status(status);
    send(body);
  }

  /**
   * The body as a stream. {@code flush()} sends what was written so far (committing status and
   * headers); {@code close()} completes the response. Bytes written before any flush are held up to
   * the server's response buffer size, so a small body written here still goes out in one write
   * with {@code Content-Length}.
   */
  OutputStream body();

  /** Whether status and headers have been sent. */
  boolean isCommitted();

  /**
   * Takes over the connection: Lull sends nothing for this request (no status line, no headers —
   * the caller writes them, for example {@code HTTP/1.1 101 Switching Protocols}), stops parsing
   * HTTP on the connection, and hands the raw bytes both ways to the caller. See {@link Hijacked}
   * for what the caller then owns, and how a graceful stop treats it.
   *
   * <p>A client that sends bytes right after its request, before it has seen the response, must ask
   * for an upgrade ({@code Upgrade} header, as RFC 9110 section 7.8 requires): Lull parses nothing
   * after such a request until it is answered or hijacked, and those bytes are the first that
   * {@link Hijacked#input()} returns. Without that header they are read as the next request, and
   * this method throws.
   *
   * @throws IllegalStateException if the response is committed or was written to, if the request
   *     body has not been received completely, or if the client sent more HTTP after this request
   * @throws java.io.UncheckedIOException if the client is gone
   * @throws UnsupportedOperationException if this response cannot be taken over (a test double)
   */
  default Hijacked hijack() {
    throw new UnsupportedOperationException("hijack");
  }
}
