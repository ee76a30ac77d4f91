package dev.lull.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class after which Netty's leak detector (paranoid in surefire) reported a buffer
 * that was garbage-collected without being released. Registered for every test class through {@code
 * META-INF/services} and {@code junit.jupiter.extensions.autodetection.enabled}.
 *
 * <p>Netty reports a leak only when the leaked buffer was collected and a later allocation polls
 * the detector's queue, so after each class this forces a collection (waiting for a canary
 * reference to be enqueued, not for a fixed time) and allocates a buffer.
 */
public final class NettyLeakCheck implements AfterAllCallback {
  private static final List<String> LEAKS = new CopyOnWriteArrayList<>();

  // Strong reference: java.util.logging keeps loggers weakly.
  private static final Logger DETECTOR_LOG = Logger.getLogger("io.netty.util.ResourceLeakDetector");

  static {
    // Keep reports out of the console (the self-test leaks on purpose); failures carry them.
    DETECTOR_LOG.setUseParentHandlers(false);
    DETECTOR_LOG.addHandler(
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            String msg = r.getMessage();
            if (msg != null && msg.contains("LEAK")) {
              Object[] params = r.getParameters();
              LEAKS.add(params == null ? msg : msg + " " + List.of(params));
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        });
  }

  public NettyLeakCheck() {}

  @Override
  public void afterAll(ExtensionContext context) {
    List<String> leaks = collect();
    if (!leaks.isEmpty()) {
      throw new AssertionError(
          "Netty reported leaked buffers after " + context.getDisplayName() + ":\n" + leaks);
    }
  }

  /** Collects garbage, lets the detector report, and returns (and forgets) what it reported. */
  static List<String> collect() {
    for (int i = 0; i < 3; i++) {
      awaitCollection();
      ByteBuf probe = ByteBufAllocator.DEFAULT.directBuffer(8); // polls the detector's queue
      probe.release();
    }
    List<String> found = new ArrayList<>(LEAKS);
    LEAKS.removeAll(found);
    return found;
  }

  private static void awaitCollection() {
    ReferenceQueue<Object> queue = new ReferenceQueue<>();
    PhantomReference<Object> canary = new PhantomReference<>(new Object(), queue);
    try {
      for (int i = 0; i < 10 && queue.poll() == null; i++) {
        System.gc();
        if (queue.remove(200) != null) break;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    canary.clear();
  }
}
