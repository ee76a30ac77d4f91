package dev.lull.cli;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One client connection for process tests: sends raw requests, reads responses one at a time
 * (keep-alive), and tells a clean end of stream from a reset. Reads time out after 60 s.
 */
final class HttpConn implements AutoCloseable {
  final Socket socket;
  final InputStream in;
  final OutputStream out;

  /**
   * A response.
   *
   * @param complete false when the connection ended inside the body (a cut response)
   */
  record Response(int status, Map<String, String> headers, String body, boolean complete) {
    Optional<String> header(String name) {
      return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
    }

    boolean closes() {
      return header("connection").map(v -> v.equalsIgnoreCase("close")).orElse(false);
    }
  }

  private HttpConn(Socket socket) throws IOException {
    this.socket = socket;
    socket.setSoTimeout(60_000);
    socket.setTcpNoDelay(true);
    this.in = new BufferedInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
  }

  static HttpConn tcp(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
    return new HttpConn(s);
  }

  HttpConn send(String text) throws IOException {
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.flush();
    return this;
  }

  /** Sends a keep-alive {@code GET path}. */
  HttpConn get(String path) throws IOException {
    return send("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n");
  }

  /** Reads one response (Content-Length, chunked, or up to the end of the stream). */
  Response read() throws IOException {
    String status = line();
    if (status == null) throw new EOFException("connection closed before a response");
    Map<String, String> headers = new LinkedHashMap<>();
    for (String h; !(h = line()).isEmpty(); ) {
      int colon = h.indexOf(':');
      headers.put(
          h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
    }
    int code = Integer.parseInt(status.split(" ")[1]);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    boolean complete = true;
    try {
      if (headers.containsKey("content-length")) {
        int n = Integer.parseInt(headers.get("content-length"));
        byte[] b = in.readNBytes(n);
        body.write(b);
        complete = b.length == n;
      } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
        while (true) {
          String size = line();
          if (size == null) {
            complete = false;
            break;
          }
          int n = Integer.parseInt(size.trim(), 16);
          if (n == 0) {
            line();
            break;
          }
          byte[] b = in.readNBytes(n);
          body.write(b);
          if (b.length < n || line() == null) {
            complete = false;
            break;
          }
        }
      } else if (code >= 200 && code != 204 && code != 304) {
        body.write(in.readAllBytes());
      }
    } catch (SocketException | EOFException e) {
      complete = false;
    }
    return new Response(code, headers, body.toString(StandardCharsets.UTF_8), complete);
  }

  /** A line ended by LF (a CR before it is dropped); null at the end of the stream. */
  String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    while (true) {
      int c = in.read();
      if (c < 0) {
        if (b.size() == 0) return null;
        throw new EOFException("connection closed inside a line: " + b);
      }
      if (c == '\n') break;
      b.write(c);
    }
    String s = b.toString(StandardCharsets.UTF_8);
    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
  }

  /**
   * Waits until the server closes the connection and says how: true for a clean end of stream,
   * false for a reset. Fails if bytes arrive or nothing happens within {@code timeout}.
   */
  boolean awaitEnd(Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
    try {
      int b = in.read();
      if (b >= 0) throw new AssertionError("unexpected byte from the server: " + (char) b);
      return true;
    } catch (SocketTimeoutException e) {
      throw new AssertionError("connection still open after " + timeout);
    } catch (SocketException e) {
      return false;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
