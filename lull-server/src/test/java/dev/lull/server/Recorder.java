package dev.lull.server;

import dev.lull.core.ActivityListener;
import dev.lull.core.ConnectionListener;
import dev.lull.core.ConnectionState;
import dev.lull.core.LifecycleListener;
import dev.lull.core.Phase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Records events in the order they happen — connection states, the idle timer, lifecycle phases —
 * as short strings ({@code "conn 1 NEW"}, {@code "armed 30s"}, {@code "fired"}, {@code "phase
 * DRAINING"}), so that a test compares the sequence with the expected one, and waits for an event
 * instead of sleeping.
 */
final class Recorder {
  private final List<String> events = new ArrayList<>();

  /** Records connection states as {@code conn ID STATE}. */
  ConnectionListener connections() {
    return (id, from, to) -> add("conn " + id + " " + to);
  }

  /** Records the idle timer as {@code armed TIMEOUT}, {@code disarmed}, {@code fired}. */
  ActivityListener idleTimer() {
    return new ActivityListener() {
      @Override
      public void idleTimerArmed(Duration timeout) {
        add("armed " + dev.lull.core.Durations.format(timeout));
      }

      @Override
      public void idleTimerDisarmed() {
        add("disarmed");
      }

      @Override
      public void idleTimerFired() {
        add("fired");
      }
    };
  }

  /** Records phases as {@code phase TO}. */
  LifecycleListener phases() {
    return change -> add("phase " + change.to());
  }

  synchronized void add(String event) {
    events.add(event);
    notifyAll();
  }

  synchronized List<String> events() {
    return List.copyOf(events);
  }

  /**
   * The connection and idle-timer events, in order, without lifecycle phases (which are told on the
   * lifecycle's own thread, so their place among the others is not fixed).
   */
  synchronized List<String> timeline() {
    return events.stream().filter(e -> !e.startsWith("phase ")).toList();
  }

  /** The events that start with {@code prefix}, in order. */
  synchronized List<String> events(String prefix) {
    return events.stream().filter(e -> e.startsWith(prefix)).toList();
  }

  /** The states connection {@code id} went through, in order. */
  synchronized List<ConnectionState> states(long id) {
    String prefix = "conn " + id + " ";
    return events.stream()
        .filter(e -> e.startsWith(prefix))
        .map(e -> ConnectionState.valueOf(e.substring(prefix.length())))
        .toList();
  }

  /** The ids of the connections seen, in order of acceptance. */
  synchronized List<Long> connectionIds() {
    return events.stream()
        .filter(e -> e.startsWith("conn ") && e.endsWith(" NEW"))
        .map(e -> Long.parseLong(e.split(" ")[1]))
        .toList();
  }

  /** How many events equal {@code event}. */
  synchronized long count(String event) {
    return events.stream().filter(event::equals).count();
  }

  /** Waits until {@code count} events match; fails after {@code timeout} with what was recorded. */
  synchronized void await(Predicate<String> match, int count, Duration timeout, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (events.stream().filter(match).count() < count) {
      long left = deadline - System.nanoTime();
      if (left <= 0) throw new AssertionError("no " + what + " within " + timeout + ": " + events);
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  /** Waits until {@code event} has been recorded {@code count} times in all. */
  void await(String event, int count) throws InterruptedException {
    await(event::equals, count, Duration.ofSeconds(10), count + " x " + event);
  }

  /** Waits until {@code event} has been recorded. */
  void await(String event) throws InterruptedException {
    await(event, 1);
  }

  /** Waits until phase {@code phase} has been entered. */
  void awaitPhase(Phase phase) throws InterruptedException {
    await("phase " + phase);
  }
}
