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
}
