package dev.lull.server.internal.admin;

import dev.lull.server.BoundListener;
import dev.lull.server.ListenerSpec;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * The rule that keeps the admin plane off the network by accident: its listener must be on a
 * loopback address ({@code 127.0.0.1}, {@code [::1]}, {@code localhost}) or a Unix socket, unless
 * the operator allows a public admin listener explicitly ({@code adminPublic}, the CLI's {@code
 * --admin-public}). {@code /metrics} and {@code /status} show paths, listeners and counts that an
 * outsider should not see, and the admin plane has no authentication.
 *
 * <p>A TCP listener is checked before binding, by resolving its host: every address must be
 * loopback; the wildcard ({@code :9090}, {@code 0.0.0.0}, {@code [::]}) never is. A systemd socket
 * can only be checked once adopted, from its bound address ({@link #check(BoundListener,
 * boolean)}).
 */
public final class AdminAccess {
  private AdminAccess() {}

  /**
   * Checks {@code spec} before binding.
   *
   * @throws IllegalArgumentException if it may be reachable from other hosts and {@code
   *     adminPublic} is false, or if its host cannot be resolved
   */
  public static void check(ListenerSpec spec, boolean adminPublic) {
    if (adminPublic || spec.kind() != ListenerSpec.Kind.TCP) return;
    if (!isLoopback(spec)) throw refused(spec.toString());
  }

  /**
   * Checks a listener once bound or adopted; for systemd sockets, whose address is known only then.
   *
   * @throws IllegalArgumentException if it is a TCP socket on a non-loopback address and {@code
   *     adminPublic} is false
   */
  public static void check(BoundListener listener, boolean adminPublic) {
    if (adminPublic) return;
    if (listener.address() instanceof InetSocketAddress inet) {
      InetAddress a = inet.getAddress();
      if (a == null || !a.isLoopbackAddress()) throw refused(listener.toString());
    }
  }

  /**
   * Whether every address {@code spec}'s host resolves to is a loopback address; false for the
   * wildcard host. Unix and systemd listeners count as local here (see the class comment).
   *
   * @throws IllegalArgumentException if the host cannot be resolved
   */
  static boolean isLoopback(ListenerSpec spec) {
    if (spec.kind() != ListenerSpec.Kind.TCP) return true;
    if (spec.host().isEmpty()) return false;
    InetAddress[] addresses;
    try {
      addresses = InetAddress.getAllByName(spec.host());
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("unknown host in admin listener \"" + spec + "\"", e);
    }
    for (InetAddress a : addresses) {
      if (!a.isLoopbackAddress()) return false;
    }
    return addresses.length > 0;
  }

  private static IllegalArgumentException refused(String what) {
    return new IllegalArgumentException(
        "admin listener \""
            + what
            + "\" is not on a loopback address: metrics and status would be reachable from other"
            + " hosts, without authentication; listen on 127.0.0.1, [::1] or a unix socket, or"
            + " allow it explicitly with adminPublic (--admin-public)");
  }
}
