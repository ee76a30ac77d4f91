package dev.lull.server.internal;

import dev.lull.server.Scheduling;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Makes the handlers' virtual threads. Where event-loop scheduling is available each request's
 * thread gets a {@link HandlerScheduler} of its own, which runs it on the connection's event loop
 * or on the JDK's shared scheduler. The JDK has no public API for a virtual thread with a scheduler
 * of one's own, so this uses the constructor the JDK's own tests use ({@code
 * java.lang.ThreadBuilders$VirtualThreadBuilder(Executor)}), reached with {@code --add-opens
 * java.base/java.lang=ALL-UNNAMED}; where that is missing, or on a JDK before 24 (where a virtual
 * thread blocked in {@code synchronized} or {@code Object.wait} pins its carrier, which would then
 * be an event loop), handlers get ordinary virtual threads. See docs/adr/0004.
 */
final class Carriers {
  private static final System.Logger LOG = System.getLogger("dev.lull.server");

  /** (Executor) -> Thread.Builder.OfVirtual; null: EVENT_LOOP is not available here. */
  private static final MethodHandle NEW_BUILDER;

  /** The JDK's default virtual-thread scheduler; null when NEW_BUILDER is. */
  static final Executor SHARED;

  /** Why EVENT_LOOP is not available; null when it is. */
  static final String UNAVAILABLE;

  static {
    MethodHandle builder = null;
    Executor shared = null;
    String why = null;
    if (Runtime.version().feature() < 24) {
      why =
          "JDK "
              + Runtime.version().feature()
              + " pins virtual threads in synchronized (needs 24+)";
    } else if (Boolean.getBoolean("lull.scheduling.sharedOnly")) {
      why = "-Dlull.scheduling.sharedOnly=true";
    } else {
      try {
        Constructor<?> c =
            Class.forName("java.lang.ThreadBuilders$VirtualThreadBuilder")
                .getDeclaredConstructor(Executor.class);
        c.setAccessible(true);
        Method m = Class.forName("java.lang.VirtualThread").getDeclaredMethod("defaultScheduler");
        m.setAccessible(true);
        shared = (Executor) m.invoke(null);
        builder =
            MethodHandles.lookup()
                .unreflectConstructor(c)
                .asType(MethodType.methodType(Thread.Builder.OfVirtual.class, Executor.class));
      } catch (ReflectiveOperationException | RuntimeException e) {
        // InaccessibleObjectException without the --add-opens; NoSuch* on a JDK that moved them.
        builder = null;
        shared = null;
        why =
            "needs --add-opens java.base/java.lang=ALL-UNNAMED ("
                + e.getClass().getSimpleName()
                + ")";
      }
    }
    NEW_BUILDER = builder;
    SHARED = shared;
    UNAVAILABLE = why;
  }

  private static final Thread.Builder.OfVirtual PLAIN = Thread.ofVirtual().name("lull-handler");

  private Carriers() {}

  /** Whether {@link Scheduling#EVENT_LOOP} can be honoured in this JVM. */
  static boolean eventLoopAvailable() {
    return NEW_BUILDER != null;
  }

  private static final AtomicBoolean TOLD = new AtomicBoolean();

  /** The scheduling a server that asked for {@code requested} gets; says once if it is not that. */
  static Scheduling effective(Scheduling requested) {
    if (requested == Scheduling.EVENT_LOOP && NEW_BUILDER == null) {
      if (TOLD.compareAndSet(false, true)) {
        LOG.log(
            System.Logger.Level.INFO,
            "handlers run on the shared virtual-thread scheduler, not on event loops: "
                + UNAVAILABLE);
      }
      return Scheduling.SHARED;
    }
    return requested;
  }

  /**
   * An unstarted virtual thread running {@code ex}, with {@code scheduler} (null: an ordinary
   * virtual thread). Where event-loop scheduling is available every handler thread gets one,
   * whichever the server's default, so that a route can move its requests either way ({@link
   * HandlerScheduler#moveTo}).
   */
  static Thread newThread(HandlerScheduler scheduler, Exchange ex) {
    if (scheduler == null) return PLAIN.unstarted(ex);
    try {
      return ((Thread.Builder.OfVirtual) NEW_BUILDER.invokeExact((Executor) scheduler))
          .name("lull-handler")
          .unstarted(ex);
    } catch (Throwable e) {
      throw new IllegalStateException("cannot make a handler thread", e);
    }
  }
}
