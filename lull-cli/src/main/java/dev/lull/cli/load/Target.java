package dev.lull.cli.load;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Where the load goes: a TCP address ({@code http://host:port/path?query}) or a Unix socket ({@code
 * unix:/path/to/socket}) plus the request target and the {@code Host} header to send.
 *
 * @param text the target as the user wrote it, for the summary
 * @param tcp the resolved TCP address, or null for a Unix socket
 * @param socketPath the Unix socket's path, or null for TCP
 * @param hostHeader the {@code Host} header value
 * @param requestTarget the path and query to send, for example {@code /jobs?limit=5}
 */
public record Target(
    String text, InetSocketAddress tcp, Path socketPath, String hostHeader, String requestTarget) {

  /** The Unix socket's path, if this target is a Unix socket. */
  public Optional<Path> unixSocket() {
    return Optional.ofNullable(socketPath);
  }

  /**
   * Parses {@code http://host[:port][/path][?query]} or {@code unix:/path/to/socket}. For a Unix
   * socket the request target is {@code path} (default {@code /}); for a URL {@code path} must be
   * null. The host is resolved once, here.
   *
   * @throws IllegalArgumentException naming the bad value
   */
  public static Target parse(String text, String path) {
    if (text == null || text.isBlank()) throw new IllegalArgumentException("URL is empty");
    String s = text.trim();
    if (s.startsWith("unix:")) {
      String file = s.substring("unix:".length());
      if (file.isEmpty()) throw new IllegalArgumentException("empty Unix socket path: " + text);
      String target = path == null ? "/" : path;
      if (!target.startsWith("/") || target.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
        throw new IllegalArgumentException(
            "--path must start with / and contain no spaces or control characters: " + path);
      }
      return new Target(
          s + (path == null ? "" : " " + path), null, Path.of(file), "localhost", target);
    }
    if (path != null) {
      throw new IllegalArgumentException(
          "--path is for unix: targets; put the path in the URL: " + path);
    }
    URI uri;
    try {
      uri = new URI(s);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("invalid URL: " + text);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http")) {
      throw new IllegalArgumentException(
          "URL must be http://host[:port]/path or unix:/path/to/socket: " + text);
    }
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("URL has no host: " + text);
    }
    if (uri.getRawUserInfo() != null) {
      throw new IllegalArgumentException("URL must not contain user info: " + text);
    }
    int port = uri.getPort() == -1 ? 80 : uri.getPort();
    String bare = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    InetAddress address;
    try {
      address = InetAddress.getByName(bare);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("unknown host in URL: " + text);
    }
    String rawPath =
        uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    String target = uri.getRawQuery() == null ? rawPath : rawPath + "?" + uri.getRawQuery();
    String hostHeader = uri.getPort() == -1 ? host : host + ":" + port;
    return new Target(s, new InetSocketAddress(address, port), null, hostHeader, target);
  }

  @Override
  public String toString() {
    return text;
  }
}
