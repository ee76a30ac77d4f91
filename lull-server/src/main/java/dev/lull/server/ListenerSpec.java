package dev.lull.server;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a server listens, written as text in flags and configuration:
 *
 * <ul>
 *   <li>{@code HOST:PORT}: a TCP address, for example {@code 127.0.0.1:8080}, {@code [::1]:0} or
 *       {@code :8080} (every interface). Port 0 takes an ephemeral port; {@link Server#listeners()}
 *       reports the real one.
 *   <li>{@code unix:/path}: a Unix stream socket; a stale socket file is replaced.
 *   <li>{@code systemd}: every socket systemd passed (LISTEN_FDS), each named by its
 *       FileDescriptorName ({@code LISTEN_FD_3}, ... when systemd gave none).
 *   <li>{@code systemd:NAME}: the sockets systemd passed under that name. See
 *       docs/SOCKET-ACTIVATION.md.
 * </ul>
 *
 * Any of these may be prefixed with {@code NAME=} to name the listener ({@code public=:8080});
 * otherwise a TCP or Unix listener is named after its text and a systemd socket after its fd name.
 * {@link Request#listener()} tells a handler which listener accepted its connection.
 */
public final class ListenerSpec {
  /** The kinds of listener. */
  public enum Kind {
    TCP,
    UNIX,
    SYSTEMD
  }

  private final String text;
  private final String name;
  private final Kind kind;
  private final String host;
  private final int port;
  private final Path path;
  private final String fdName;

  private ListenerSpec(
      String text, String name, Kind kind, String host, int port, Path path, String fdName) {
    this.text = text;
    this.name = name;
    this.kind = kind;
    this.host = host;
    this.port = port;
    this.path = path;
    this.fdName = fdName;
  }

  /**
   * Parses a listener written as above.
   *
   * @throws IllegalArgumentException naming the text when it is not a listener
   */
  public static ListenerSpec parse(String text) {
    Objects.requireNonNull(text, "listener");
    String s = text.trim();
    String name = null;
    int eq = s.indexOf('=');
    if (eq > 0 && !s.startsWith("unix:") && !s.startsWith("[")) {
      name = s.substring(0, eq);
      s = s.substring(eq + 1);
      if (!name.matches("[A-Za-z0-9_.:-]+")) {
        throw new IllegalArgumentException("invalid listener name in \"" + text + "\"");
      }
    }
    if (s.equals("systemd")) {
      return new ListenerSpec(text, name, Kind.SYSTEMD, null, -1, null, null);
    }
    if (s.startsWith("systemd:")) {
      String fd = s.substring("systemd:".length());
      if (fd.isEmpty() || fd.contains(":")) {
        throw new IllegalArgumentException("invalid systemd socket name in \"" + text + "\"");
      }
      return new ListenerSpec(text, name, Kind.SYSTEMD, null, -1, null, fd);
    }
    if (s.startsWith("unix:")) {
      String p = s.substring("unix:".length());
      if (p.isEmpty())
        throw new IllegalArgumentException("empty unix socket path: \"" + text + "\"");
      return new ListenerSpec(text, name == null ? s : name, Kind.UNIX, null, -1, Path.of(p), null);
    }
    int colon = s.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException(
          "listener must be HOST:PORT, unix:/path, systemd or systemd:NAME: \"" + text + "\"");
    }
    String host = s.substring(0, colon);
    String portText = s.substring(colon + 1);
    if (host.startsWith("[")) {
      if (!host.endsWith("]"))
        throw new IllegalArgumentException("invalid IPv6 host: \"" + text + "\"");
      host = host.substring(1, host.length() - 1);
    } else if (host.contains(":")) {
      throw new IllegalArgumentException(
          "IPv6 hosts go in brackets, as [::1]:8080: \"" + text + "\"");
    }
    int port;
    try {
      port = Integer.parseInt(portText);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("invalid port in listener \"" + text + "\"");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range 0-65535 in listener \"" + text + "\"");
    }
    return new ListenerSpec(text, name == null ? s : name, Kind.TCP, host, port, null, null);
  }

  public Kind kind() {
    return kind;
  }

  /** The listener's name, if one was given or follows from the text (not for {@code systemd}). */
  public Optional<String> name() {
    return Optional.ofNullable(name);
  }

  /** For TCP: the host, empty for every interface. */
  public String host() {
    return host;
  }

  /** For TCP: the port, 0 for an ephemeral one. */
  public int port() {
    return port;
  }

  /** For Unix sockets: the path. */
  public Path path() {
    return path;
  }

  /** For {@code systemd:NAME}: NAME; empty for {@code systemd} (all sockets). */
  public Optional<String> fdName() {
    return Optional.ofNullable(fdName);
  }

  @Override
  public String toString() {
    return text;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ListenerSpec other && other.text.equals(text);
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }
}
