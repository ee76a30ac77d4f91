package dev.lull.server;

/**
 * Handles one HTTP request. Lull calls it on a fresh virtual thread, never on an event loop, so it
 * may block freely: read the body, call a database, sleep.
 *
 * <p>If the handler returns without sending a response, Lull sends what it set (status and headers)
 * with an empty body. If it throws before the response is committed, the client gets {@code 500
 * Internal Server Error} and one line is logged; if the response was already streaming, the
 * connection is closed so the client sees a truncated body rather than a wrong one.
 */
@FunctionalInterface
public interface Handler {
  void handle(Request request, Response response) throws Exception;
}
