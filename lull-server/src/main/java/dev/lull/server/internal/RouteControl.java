package dev.lull.server.internal;

import dev.lull.server.RouteOptions;

/**
 * Implemented by the engine's request so that a {@link dev.lull.server.Router} can hand the matched
 * route's {@link RouteOptions} to the engine; a request wrapper that should pass them on implements
 * it too and forwards the call. Not for applications. A route without options costs nothing: the
 * router calls this only for routes that have some.
 */
public interface RouteControl {
  /**
   * Called by the router on the handler's thread, before it calls the route's handler. A nested
   * router calls it again; the inner route's options then replace the outer's where it sets them.
   */
  void applyRouteOptions(RouteOptions options);
}
