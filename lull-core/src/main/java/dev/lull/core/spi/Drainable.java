package dev.lull.core.spi;

/**
 * The server-specific steps of a {@link dev.lull.core.Lifecycle}, implemented by an engine (the
 * Netty server in {@code lull-server}). The lifecycle decides <em>when</em>; the engine knows
 * <em>how</em>.
 *
 * <h2>Contract</h2>
 *
 * <ul>
 *   <li><b>Order.</b> {@link #start()} first (unless stopped before start). Then, on every path to
 *       termination: {@link #stopAccepting()}, then — on a graceful drain — {@link
 *       #enterLameDuck()}, then — if something remains when the stop timeout expires or the stop is
 *       forced — {@link #cancelInFlight()}, then {@link #forceClose()}, then {@link #release()}.
 *       {@code stopAccepting}, {@code forceClose} and {@code release} are called exactly once on
 *       every path; the others at most once.
 *   <li><b>Threads.</b> {@code start()} runs on the thread that called {@code Lifecycle.start()};
 *       every other method on the lifecycle's executor thread, never on an event loop, never
 *       concurrently with another method of this interface, never while the lifecycle holds a lock.
 *   <li><b>Not started.</b> Every method after {@code start()} must also work when {@code start()}
 *       was never called (stop before start) or threw half-way (release what was opened).
 *   <li><b>Exceptions.</b> A method that throws is logged and recorded in {@link
 *       dev.lull.core.Termination#failures()}; the lifecycle goes on with the next step.
 *   <li><b>Waiting.</b> The engine does not wait for requests to finish: it reports its connections
 *       to the lifecycle's {@link dev.lull.core.ActivityTracker} ({@code NEW} at accept, ...,
 *       {@code CLOSED}), and the lifecycle waits for {@link
 *       dev.lull.core.ActivityTracker#drained()} — every connection closed, all work ended.
 *       Therefore lame duck must close idle connections itself, or the drain lasts until the stop
 *       timeout.
 * </ul>
 */
public interface Drainable {
  /**
   * Binds or adopts the listeners and begins accepting; returns once every listener accepts. May
   * block. On failure, throws after closing what it opened, or leaves it to {@link #release()}.
   */
  void start();

  /**
   * Stops accepting: closes our copies of the listening sockets. A socket systemd passed us is
   * closed, never shut down nor unlinked: systemd keeps its own copy and the kernel keeps queueing
   * connections for the next instance. Connections already accepted are not touched. May block
   * briefly while the listeners close.
   */
  void stopAccepting();

  /**
   * Enters lame duck: every response from now on carries {@code Connection: close} and its
   * connection closes after it; requests in flight or pipelined on accepted connections are served,
   * not refused; idle keep-alive connections are closed in a way that cannot race a request already
   * on its way (for example once they have stayed idle for a short grace, serving with {@code
   * Connection: close} whatever arrives meanwhile); {@code NEW} connections get until their {@code
   * readHeaderTimeout}. Must not wait for any of this: it returns at once.
   */
  void enterLameDuck();

  /**
   * Cancels what still runs: cancels the request contexts (cause: stop timeout), interrupts the
   * handler threads. The lifecycle cancels its tracked work itself. Must not wait for the handlers
   * to end.
   *
   * @return how many requests were cancelled
   */
  int cancelInFlight();

  /**
   * Closes every connection still open, in any state, at once (requests still running are cut). May
   * block briefly until the closes are done.
   *
   * @return how many connections were closed
   */
  int forceClose();

  /**
   * Releases everything else — event loops, threads, socket files we created — as the last step.
   * May block until done (bounded). The admin plane, if any, is stopped here, last.
   */
  void release();
}
