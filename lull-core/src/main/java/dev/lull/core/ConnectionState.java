package dev.lull.core;

/**
 * The state of one client connection, as Lull tracks it for idle exit and graceful stop. Modelled
 * on Go's {@code net/http.ConnState}; every constant says which states it moves to. So a keep-alive
 * client that sends two requests and closes goes {@code NEW, ACTIVE, IDLE, ACTIVE, IDLE, CLOSED}; a
 * client that asks to close after its request ({@code Connection: close}, or HTTP/1.0) {@code NEW,
 * ACTIVE, CLOSED}; one that sends nothing {@code NEW, CLOSED}; an upgrade {@code NEW, ACTIVE,
 * HIJACKED, CLOSED}.
 */
public enum ConnectionState {
  /**
   * Accepted, and its first request head is not complete yet. Counted from the moment of accept, so
   * an idle exit can never race a connection that is about to send a request. Moves to {@link
   * #ACTIVE} when a request head is complete, or {@link #CLOSED} (for example after {@code
   * readHeaderTimeout}).
   */
  NEW,
  /**
   * A request is being received, handled or its response written; also a keep-alive connection that
   * has received the first byte of its next request. Moves to {@link #IDLE} when the response is
   * complete and the connection stays open, {@link #HIJACKED}, or {@link #CLOSED}.
   */
  ACTIVE,
  /**
   * Keep-alive, between requests, nothing received yet of the next one. Does not keep the server
   * awake and is closed by a graceful stop. Moves to {@link #ACTIVE} on the first byte of the next
   * request, or {@link #CLOSED} (for example after {@code keepAliveTimeout}).
   */
  IDLE,
  /**
   * Taken over by its handler (an upgrade or a raw stream). Lull no longer manages its bytes but
   * still counts it as activity until it closes. Moves only to {@link #CLOSED}.
   */
  HIJACKED,
  /** Closed. Terminal: a connection in this state never changes again. */
  CLOSED;

  /** Whether a connection in this state keeps the server from going idle. */
  public boolean isBusy() {
    return this == NEW || this == ACTIVE || this == HIJACKED;
  }
}
