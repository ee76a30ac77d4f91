package dev.lull.jobs;

import dev.lull.core.spi.Drainable;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A Drainable without connections: the lifecycle then waits for tracked work only. */
final class NoEngine implements Drainable {
  final List<String> calls = new CopyOnWriteArrayList<>();

  @Override
  public void start() {
    calls.add("start");
  }

  @Override
  public void stopAccepting() {
    calls.add("stopAccepting");
  }

  @Override
  public void enterLameDuck() {
    calls.add("enterLameDuck");
  }

  @Override
  public int cancelInFlight() {
    calls.add("cancelInFlight");
    return 0;
  }

  @Override
  public int forceClose() {
    calls.add("forceClose");
    return 0;
  }

  @Override
  public void release() {
    calls.add("release");
  }
}
