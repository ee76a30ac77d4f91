package dev.lull.server.internal.admin;

import dev.lull.core.ActivityTracker;
import dev.lull.core.ConnectionState;
import dev.lull.core.Durations;
import dev.lull.core.spi.Drainable;
import dev.lull.core.testing.ManualClock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A {@link Drainable} as its contract describes, without sockets: it records each step with the
 * fake time, and keeps connections whose states it reports to the tracker, as the engine does. Lame
 * duck closes the idle ones; force-close closes all.
 */
final class FakeDrainable implements Drainable {
  final ManualClock clock;
  final List<String> events = new CopyOnWriteArrayList<>();
  ActivityTracker tracker;
  private final Map<Long, ConnectionState> connections = new ConcurrentHashMap<>();

  FakeDrainable(ManualClock clock) {
    this.clock = clock;
  }

  private void record(String what) {
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

  /** Accepts connection {@code id} and moves it through NEW to {@code state}. */
  void open(long id, ConnectionState state) {
    move(id, ConnectionState.NEW);
    if (state != ConnectionState.NEW) move(id, state);
  }

  @Override
  public void start() {
    record("start");
  }

  @Override
  public void stopAccepting() {
    record("stopAccepting");
  }

  @Override
  public void enterLameDuck() {
    record("enterLameDuck");
    for (Map.Entry<Long, ConnectionState> e : Map.copyOf(connections).entrySet()) {
      if (e.getValue() == ConnectionState.IDLE) move(e.getKey(), ConnectionState.CLOSED);
    }
  }

  @Override
  public int cancelInFlight() {
    record("cancelInFlight");
    return (int) connections.values().stream().filter(s -> s == ConnectionState.ACTIVE).count();
  }

  @Override
  public int forceClose() {
    int n = connections.size();
    record("forceClose " + n);
    for (Long id : List.copyOf(connections.keySet())) move(id, ConnectionState.CLOSED);
    return n;
  }

  @Override
  public void release() {
    record("release");
  }
}
