package dev.lull.server.internal;

import dev.lull.server.Scheduling;
import io.netty.channel.EventLoop;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.LockSupport;

/**
 * The scheduler of one request's handler thread (ADR 0004), where {@link Carriers} could give it
 * one: runs each stretch of the thread, from its start or an unpark to its next park, on the
 * connection's event loop, or on the JDK's shared scheduler when the request is {@link
 * Scheduling#SHARED}, held its loop too long, or the event loops have shut down (a virtual thread
 * whose scheduler refuses it would never run again).
 *
 * <p>A virtual thread started by a virtual thread inherits its scheduler (the JDK's rule), so
 * threads the handler starts, and the JDK's own (its I/O pollers start on first use), come here
 * too: they are not the handler's thread and go to the shared scheduler, as they would without
 * Lull. They may keep this object for their life, so it lets go of its exchange when the handler
 * ends.
 */
final class HandlerScheduler implements Executor, Runnable {
  private final EventLoop loop;
  private volatile Exchange exchange; // null once the handler has returned

  /** Where the handler thread runs: the shared scheduler, or (false) the event loop. */
  private volatile boolean shared;

  private volatile Runnable own; // the handler thread's continuation: the first one submitted
  private volatile long stretchBegan; // System.nanoTime() when the running stretch began, or 0
  private boolean heldLoop; // event loop only: counted as holding its loop
  private volatile boolean moving; // moveTo waits for the event loop to wake it
  private volatile boolean routeShared; // the route said SHARED (moveTo)

  HandlerScheduler(Exchange exchange, boolean shared) {
    this.loop = exchange.conn.channel.eventLoop();
    this.exchange = exchange;
    this.shared = shared;
  }

  @Override
  public void execute(Runnable continuation) {
    Runnable mine = own;
    if (mine == null) {
      own = mine = continuation; // Thread.start(), on the event loop, before any child exists
    }
    if (continuation == mine && !shared) {
      // At the end of a stretch (a yield, a park woken at once) this runs on the event loop
      // itself: a stretch that held the loop too long sends the rest elsewhere.
      long began = stretchBegan;
      if (began == 0 || System.nanoTime() - began <= Engine.LOOP_HOLD_LIMIT_NANOS) {
        try {
          loop.execute(this); // run(): one stretch
          return;
        } catch (RejectedExecutionException e) {
          // the event loops have shut down
        }
      }
      shared = true;
    }
    Carriers.SHARED.execute(continuation);
  }

  /**
   * Event loop: runs one stretch of the handler thread. One that held the loop longer than {@link
   * Engine#LOOP_HOLD_LIMIT_NANOS} (a computation, a file read, native code) sends the rest of the
   * request to the shared scheduler; the engine counts such requests and names their route.
   */
  @Override
  public void run() {
    Exchange ex = exchange;
    long began = System.nanoTime();
    stretchBegan = began;
    try {
      own.run();
    } finally {
      stretchBegan = 0;
    }
    long held = System.nanoTime() - began;
    if (held > Engine.LOOP_HOLD_LIMIT_NANOS) {
      shared = true;
      // Not when the route itself moved the request off the loop in this stretch: the time was
      // the OS's or the router's, and the route already says SHARED.
      if (!heldLoop && ex != null && !routeShared) {
        heldLoop = true;
        ex.conn.engine.loopHeld(ex, held);
      }
    }
  }

  /** Handler thread, as it returns. */
  void handlerFinished() {
    exchange = null;
  }

  /**
   * Handler thread: from now on the thread runs where {@code scheduling} says. Does nothing where
   * event-loop scheduling is not available.
   */
  void moveTo(Scheduling scheduling) {
    boolean toShared = scheduling == Scheduling.SHARED;
    routeShared = toShared;
    if (shared == toShared || !Carriers.eventLoopAvailable()) return;
    shared = toShared;
    if (toShared) {
      Thread.yield(); // from the event loop, the JDK resubmits the thread through execute()
      return;
    }
    // On a carrier of the shared pool the JDK resubmits a yielding thread to that pool directly
    // (VirtualThread.afterYield), and so it does a thread woken while it was still parking. So the
    // thread parks, and the event loop wakes it once it is parked: that resubmits it through
    // execute(), to the loop.
    Thread me = Thread.currentThread();
    moving = true;
    if (!wakeOnEventLoop(me)) return;
    boolean interrupted = false;
    while (moving) {
      if (Thread.interrupted()) interrupted = true; // else park would return at once
      LockSupport.park(this);
    }
    if (interrupted) me.interrupt();
  }

  /** Has the event loop unpark {@code t} once it has parked; false if no loop runs. */
  private boolean wakeOnEventLoop(Thread t) {
    try {
      loop.execute(
          () -> {
            if (t.getState() == Thread.State.WAITING || !wakeOnEventLoop(t)) {
              moving = false;
              LockSupport.unpark(t);
            }
          });
      return true;
    } catch (RejectedExecutionException e) {
      shared = true; // the event loops are gone: it stays where it is
      moving = false;
      return false;
    }
  }
}
