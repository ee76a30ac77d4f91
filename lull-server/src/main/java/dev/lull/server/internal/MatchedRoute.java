package dev.lull.server.internal;

/**
 * Implemented by the engine's request so that a {@link dev.lull.server.Router} can say which route
 * served it: request metrics are labelled by the route's pattern ({@code /jobs/{id}}), never by the
 * raw path, to keep their number bounded. A request no router matched (404, 405), or whose handler
 * is not a router, is never told and counts as {@code unmatched}.
 */
public interface MatchedRoute {
  /**
   * Called by the router on the handler's thread, before it calls the route's handler, with the
   * pattern as written in the route ({@code /jobs/{id}}). A nested router calls it again; the last
   * call wins.
   */
  void matchedRoute(String pattern);
}
