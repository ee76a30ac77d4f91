package dev.lull.server;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A strict HTTP/1.1 response reader for tests: parses the status line, the headers and a body
 * framed by Content-Length, chunked encoding or the end of the stream, from exactly the bytes the
 * server sent. It never reads past the end of one response, so several responses can be read in a
 * row from one connection.
 */
public final class RawHttp {
  private RawHttp() {}

  /** One parsed response. Header names are lower case. */
  public record Response(
      String version,
      int status,
      String reason,
      Map<String, List<String>> headers,
      byte[] body,
      List<byte[]> chunks,
      boolean complete) {

    public Optional<String> header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
    }

    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }

    public boolean chunked() {
      return header("transfer-encoding").map(v -> v.equalsIgnoreCase("chunked")).orElse(false);
    }

    @Override
    public String toString() {
      return version + " " + status + " " + reason + " " + headers + " " + bodyText();
    }
  }

  /** Reads one response to a request that was not HEAD, skipping {@code 1xx} responses. */
  public static Response read(InputStream in) throws IOException {
    return read(in, false);
  }

  /** Reads one final response; {@code head} says the request was HEAD (no body follows). */
  public static Response read(InputStream in, boolean head) throws IOException {
    Response r;
    do {
      r = readHead(in);
    } while (r.status() >= 100 && r.status() < 200);
    return readBody(in, r, head);
  }

  /** Reads a status line and headers, nothing more. */
  public static Response readHead(InputStream in) throws IOException {
    String statusLine = readLine(in);
    if (statusLine == null) throw new EOFException("connection closed before a response");
    String[] parts = statusLine.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
      throw new IOException("not a status line: " + statusLine);
    }
    Map<String, List<String>> headers = new LinkedHashMap<>();
    while (true) {
      String line = readLine(in);
      if (line == null) throw new EOFException("connection closed in the response head");
      if (line.isEmpty()) break;
      int colon = line.indexOf(':');
      if (colon <= 0) throw new IOException("bad header line: " + line);
      headers
          .computeIfAbsent(
              line.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(line.substring(colon + 1).trim());
    }
    return new Response(
        parts[0],
        Integer.parseInt(parts[1]),
        parts.length > 2 ? parts[2] : "",
        headers,
        new byte[0],
        List.of(),
        true);
  }

  /** Reads the body that belongs to {@code head}. */
  public static Response readBody(InputStream in, Response r, boolean headRequest)
      throws IOException {
    int s = r.status();
    if (headRequest || s == 204 || s == 304 || s < 200) return r;
    if (r.chunked()) {
      List<byte[]> chunks = new ArrayList<>();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      boolean complete = true;
      try {
        byte[] c;
        while ((c = readChunk(in)) != null) {
          chunks.add(c);
          all.writeBytes(c);
        }
      } catch (EOFException e) {
        complete = false;
      }
      return new Response(
          r.version(), s, r.reason(), r.headers(), all.toByteArray(), chunks, complete);
    }
    Optional<String> cl = r.header("content-length");
    if (cl.isPresent()) {
      int n = Integer.parseInt(cl.get());
      byte[] body = in.readNBytes(n);
      return new Response(
          r.version(), s, r.reason(), r.headers(), body, List.of(), body.length == n);
    }
    byte[] body = in.readAllBytes(); // delimited by the end of the connection
    return new Response(r.version(), s, r.reason(), r.headers(), body, List.of(), true);
  }

  /**
   * Reads one chunk of a chunked body and returns its data, or null after the last chunk (whose
   * trailers it consumes).
   *
   * @throws EOFException if the connection ends inside the body
   */
  public static byte[] readChunk(InputStream in) throws IOException {
    String sizeLine = readLine(in);
    if (sizeLine == null) throw new EOFException("connection closed in a chunked body");
    int semi = sizeLine.indexOf(';');
    int size = Integer.parseInt((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim(), 16);
    if (size == 0) {
      String line;
      do {
        line = readLine(in);
        if (line == null) throw new EOFException("connection closed in the trailers");
      } while (!line.isEmpty());
      return null;
    }
    byte[] data = in.readNBytes(size);
    if (data.length < size) throw new EOFException("connection closed in a chunk");
    String crlf = readLine(in);
    if (crlf == null) throw new EOFException("connection closed after a chunk");
    if (!crlf.isEmpty()) throw new IOException("chunk not followed by CRLF");
    return data;
  }

  /**
   * Reads a line ended by CRLF, without it; null at the end of the stream before any byte.
   *
   * @throws IOException on a bare LF or a stream that ends inside the line
   */
  public static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    while (true) {
      int b = in.read();
      if (b < 0) {
        if (line.size() == 0) return null;
        throw new EOFException("connection closed inside a line: " + line);
      }
      if (b == '\n') throw new IOException("bare LF after: " + line);
      if (b == '\r') {
        int lf = in.read();
        if (lf != '\n') throw new IOException("CR not followed by LF after: " + line);
        return line.toString(StandardCharsets.ISO_8859_1);
      }
      line.write(b);
    }
  }
}
