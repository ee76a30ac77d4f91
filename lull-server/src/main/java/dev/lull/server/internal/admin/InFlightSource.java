package dev.lull.server.internal.admin;

import java.util.List;

/**
 * The requests being handled now; the engine implements it from its open connections. Called on a
 * handler thread of the admin plane for each {@code /status} and {@code /status.json}, so it must
 * be thread-safe; it may be approximate (a request that ends while the list is made may or may not
 * be in it).
 */
@FunctionalInterface
public interface InFlightSource {
  /** No requests: for an engine that does not report them. */
  InFlightSource NONE = List::of;

  /** The requests in flight now, in any order (the status page sorts them oldest first). */
  List<InFlight> inFlight();
}
