package dev.lull.server;

import java.io.InputStream;
import java.net.SocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * An HTTP request as a handler sees it. Header names are case-insensitive. The body is a stream
 * read on demand: while the handler does not read it, Lull stops reading from the connection
 * (backpressure), and {@code Expect: 100-continue} is answered on the first read.
 */
public interface Request {
  /** The method, for example {@code GET}, exactly as the client sent it. */
  String method();

  /**
   * The decoded path, without the query, for example {@code /jobs/42}. Percent-escapes are decoded,
   * {@code %2F} included.
   */
  String path();

  /** The raw query string without the {@code ?}, or an empty string. */
  String rawQuery();

  /** The first value of the query parameter {@code name}, decoded. */
  Optional<String> query(String name);

  /**
   * Every query parameter with all its values, decoded ({@code +} is a space), in order of
   * appearance. Only {@code &} separates parameters; {@code ;} is part of a value.
   */
  Map<String, List<String>> queryParameters();

  /** The first value of header {@code name}. */
  Optional<String> header(String name);

  /** All values of header {@code name}, in order; empty if absent. */
  List<String> headers(String name);

  /** The names of the headers present, in lower case, each once, in order of appearance. */
  Set<String> headerNames();

  /** The protocol version, {@code HTTP/1.1} or {@code HTTP/1.0}. */
  String protocol();

  /** The declared body length, or -1 when unknown (chunked) ; 0 when there is no body. */
  long contentLength();

  /**
   * The body as a stream. Reading blocks until bytes arrive; returns -1 at its end. Throws an
   * {@link java.io.IOException} if the client disconnects, if the body exceeds the server's {@code
   * maxBodySize} (the client then gets 413 if no response was sent yet) or is not valid chunked
   * encoding (400). A handler may answer without reading the body: a small rest is read and dropped
   * to keep the connection; a large one, or one announced with {@code Expect: 100-continue} that
   * the client has not sent yet, closes the connection after the response.
   */
  InputStream body();

  /** The client's address: an {@link java.net.InetSocketAddress} or a Unix socket address. */
  SocketAddress remoteAddress();

  /**
   * The name of the listener that accepted the connection, for example {@code http} or the fd name.
   */
  String listener();

  /**
   * This request's cancellation context. It is cancelled, with its cause, when the client
   * disconnects while the handler runs ({@link
   * dev.lull.core.CancellationCause#CLIENT_DISCONNECTED}), when the request's deadline passes
   * ({@code DEADLINE_EXCEEDED}), or when the server's stop timeout expires ({@code
   * SERVER_STOPPING}). By default cancellation also interrupts the handler's thread, so blocking
   * calls return at once; busy code calls {@link dev.lull.core.Context#checkpoint()}. Values of the
   * server's base context are visible here.
   */
  dev.lull.core.Context context();

  /** The value of path parameter {@code name} (for example {@code id} in {@code /jobs/{id}}). */
  default Optional<String> pathParameter(String name) {
    return Optional.empty();
  }
}
