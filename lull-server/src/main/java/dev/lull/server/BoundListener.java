package dev.lull.server;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * A listener that is accepting connections.
 *
 * @param name the listener's name, as {@link Request#listener()} reports it
 * @param address the local address; for TCP the real port, also when port 0 was asked for
 * @param inherited whether the socket came from systemd (then Lull never unlinks nor shuts it down)
 */
public record BoundListener(String name, SocketAddress address, boolean inherited) {
  /** The TCP port, or -1 for a Unix socket. */
  public int port() {
    return address instanceof InetSocketAddress inet ? inet.getPort() : -1;
  }

  @Override
  public String toString() {
    return name + " " + address + (inherited ? " (from systemd)" : "");
  }
}
