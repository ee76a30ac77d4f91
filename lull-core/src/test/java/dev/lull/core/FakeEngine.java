package dev.lull.core;

import dev.lull.core.spi.Drainable;
import dev.lull.core.testing.ManualClock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/**
 * A {@link Drainable} that records every call with the time, and keeps connections whose states it
 * reports to the tracker, as the Netty engine does.
 */
final class FakeEngine implements Drainable {
  final ManualClock clock;
  final List<String> events;
  ActivityTracker tracker;
  final Map<Long, ConnectionState> connections = new ConcurrentHashMap<>();

  /** What {@link #start()} does after recording itself; null to return at once. */
  volatile Runnable onStart;

  /** Whether requests end (their connections close) as soon as they are cancelled. */
  volatile boolean cancelEndsRequests;

  /** Runs inside {@link #enterLameDuck()}. */
  volatile Consumer<FakeEngine> onLameDuck = FakeEngine::closeIdle;

  /** When set, each step fails after recording itself. */
  volatile boolean failSteps;

  FakeEngine(ManualClock clock, List<String> events) {
    this.clock = clock;
    this.events = events;
  }

  void record(String what) {
    events.add(Durations.format(clock.elapsed()) + " " + what);
  }

  void move(long id, ConnectionState to) {
    ConnectionState from = connections.get(id);
    if (to == ConnectionState.CLOSED) {
      connections.remove(id);
    } else {
      connections.put(id, to);
    }
    tracker.connectionStateChanged(id, from, to);
  }

  /** Accepts a connection and runs a request on it (NEW, then ACTIVE). */
  void request(long id) {
    move(id, ConnectionState.NEW);
    move(id, ConnectionState.ACTIVE);
  }

  void closeIdle() {
    for (Map.Entry<Long, ConnectionState> e : Map.copyOf(connections).entrySet()) {
      if (e.getValue() == ConnectionState.IDLE) move(e.getKey(), ConnectionState.CLOSED);
    }
  }

  @Override
  public void start() {
    record("start");
    Runnable r = onStart;
    if (r != null) r.run();
  }

  @Override
  public void stopAccepting() {
    record("stopAccepting");
    fail();
  }

  @Override
  public void enterLameDuck() {
    record("enterLameDuck");
    onLameDuck.accept(this);
    fail();
  }

  @Override
  public int cancelInFlight() {
    int n = 0;
    for (Map.Entry<Long, ConnectionState> e : Map.copyOf(connections).entrySet()) {
      if (e.getValue() == ConnectionState.ACTIVE || e.getValue() == ConnectionState.HIJACKED) n++;
    }
    record("cancelInFlight " + n);
    if (cancelEndsRequests) {
      for (Map.Entry<Long, ConnectionState> e : Map.copyOf(connections).entrySet()) {
        if (e.getValue() == ConnectionState.ACTIVE) move(e.getKey(), ConnectionState.CLOSED);
      }
    }
    fail();
    return n;
  }

  @Override
  public int forceClose() {
    int n = connections.size();
    record("forceClose " + n);
    for (Long id : List.copyOf(connections.keySet())) move(id, ConnectionState.CLOSED);
    fail();
    return n;
  }

  @Override
  public void release() {
    record("release");
    fail();
  }

  private void fail() {
    if (failSteps) throw new IllegalStateException("step failed, expected by the test");
  }

  /** Makes {@link #start()} block until the returned latch is counted down. */
  CountDownLatch blockStart(CountDownLatch started) {
    CountDownLatch proceed = new CountDownLatch(1);
    onStart =
        () -> {
          started.countDown();
          try {
            proceed.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        };
    return proceed;
  }
}
