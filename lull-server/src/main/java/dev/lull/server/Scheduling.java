package dev.lull.server;

/**
 * Which threads carry a request handler's virtual thread. Every handler runs on a virtual thread of
 * its own either way, and is written the same way; what changes is where that thread runs between
 * the points where it parks (a blocking socket read, a lock, a sleep, a write waiting for the
 * client).
 *
 * <p>Set for the whole server with {@link Server.Builder#scheduling(Scheduling)} and per route with
 * {@link RouteOptions.Builder#scheduling(Scheduling)}; docs/adr/0004 explains the choice.
 */
public enum Scheduling {
  /**
   * The handler's virtual thread runs on the event loop of its connection: the request never
   * changes threads, which saves a wake-up of another thread per request (about a third of the
   * server's CPU for short handlers). The default where it is available: JDK 24 or later (where a
   * virtual thread in {@code synchronized} no longer holds its carrier) with {@code --add-opens
   * java.base/java.lang=ALL-UNNAMED} (the launcher and the CLI jar's manifest add it); elsewhere
   * the server uses {@link #SHARED} and says so once in its log.
   *
   * <p>The cost: while the handler runs (between parks), that event loop reads and writes for no
   * other connection. Handlers that park when they wait (sockets, JDBC over sockets, locks, sleeps,
   * other HTTP calls) are fine; a route that computes for milliseconds, reads files, spawns
   * processes or calls native code should use {@link #SHARED}.
   */
  EVENT_LOOP,

  /**
   * The handler's virtual thread runs on the JDK's shared scheduler (a pool with one carrier thread
   * per CPU, as for any virtual thread): a long computation or a blocking file read holds up no
   * event loop, at the cost of handing each request to another thread and back.
   */
  SHARED
}
