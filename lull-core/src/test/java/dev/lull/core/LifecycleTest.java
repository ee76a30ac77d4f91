package dev.lull.core;

import static dev.lull.core.ConnectionState.ACTIVE;
import static dev.lull.core.ConnectionState.CLOSED;
import static dev.lull.core.ConnectionState.IDLE;
import static dev.lull.core.ConnectionState.NEW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class LifecycleTest {
  private final ManualClock clock = new ManualClock();
  private final List<String> events = Collections.synchronizedList(new ArrayList<>());
  private final List<PhaseChange> changes = Collections.synchronizedList(new ArrayList<>());
  private final FakeEngine engine = new FakeEngine(clock, events);
  private ActivityTracker tracker;

  private Lifecycle build(UnaryOperator<Lifecycle.Builder> config) {
    return build(null, Runnable::run, config);
  }

  private Lifecycle build(
      Duration idleTimeout, Executor executor, UnaryOperator<Lifecycle.Builder> config) {
    tracker =
        ActivityTracker.builder().ticker(clock).scheduler(clock).idleTimeout(idleTimeout).build();
    engine.tracker = tracker;
    Lifecycle.Builder b =
        Lifecycle.builder(engine, tracker)
            .executor(executor)
            .listener(
                c -> {
                  changes.add(c);
                  events.add(
                      Durations.format(clock.elapsed())
                          + " "
                          + c.from()
                          + "->"
                          + c.to()
                          + c.stopReason().map(r -> " " + r.label()).orElse(""));
                });
    return config.apply(b).build();
  }

  /** An executor that runs nothing until the test says so: a way to act between two steps. */
  private static final class QueueExecutor implements Executor {
    final ArrayDeque<Runnable> queue = new ArrayDeque<>();

    @Override
    public synchronized void execute(Runnable r) {
      queue.add(r);
    }

    void runAll() {
      while (true) {
        Runnable r;
        synchronized (this) {
          r = queue.poll();
        }
        if (r == null) return;
        r.run();
      }
    }
  }

  @Test
  void stopWithNothingInFlightGoesThroughEveryPhaseInOrder() throws Exception {
    Lifecycle lc = build(b -> b);
    AtomicInteger hooks = new AtomicInteger();
    lc.onTerminated(t -> hooks.incrementAndGet());
    assertThat(lc.isReady()).isFalse();
    lc.start();
    assertThat(lc.isReady()).isTrue();
    assertThat(lc.phase()).isEqualTo(Phase.RUNNING);

    var outcome = lc.stop(StopReason.API);

    assertThat(events)
        .containsExactly(
            "0s start",
            "0s STARTING->RUNNING",
            "0s RUNNING->DRAINING api",
            "0s stopAccepting",
            "0s enterLameDuck",
            "0s DRAINING->STOPPING api",
            "0s forceClose 0",
            "0s release",
            "0s STOPPING->TERMINATED api");
    assertThat(outcome).isDone();
    Termination t = lc.awaitTermination();
    assertThat(t.reason()).isEqualTo(StopReason.API);
    assertThat(t.graceful()).isTrue();
    assertThat(t.exitCode()).isZero();
    assertThat(t.failures()).isEmpty();
    assertThat(lc.phase()).isEqualTo(Phase.TERMINATED);
    assertThat(lc.isReady()).isFalse();
    assertThat(hooks).hasValue(1);
    assertThat(clock.pending()).as("no timer left behind").isZero();
  }

  @Test
  void stopWaitsForInFlightRequestsWhileLameDuckClosesIdleConnections() {
    Lifecycle lc = build(b -> b);
    lc.start();
    engine.request(1); // a request in flight
    engine.request(2);
    engine.move(2, IDLE); // a keep-alive connection between requests
    clock.advance(Duration.ofSeconds(10));
    lc.stop(StopReason.SIGNAL);
    clock.advance(Duration.ofSeconds(3));
    assertThat(lc.phase()).isEqualTo(Phase.DRAINING);
    engine.move(1, CLOSED); // its response went out with Connection: close

    assertThat(events)
        .containsExactly(
            "0s start",
            "0s STARTING->RUNNING",
            "10s RUNNING->DRAINING signal",
            "10s stopAccepting",
            "10s enterLameDuck",
            "13s DRAINING->STOPPING signal",
            "13s forceClose 0",
            "13s release",
            "13s STOPPING->TERMINATED signal");
    PhaseChange draining = changes.get(1);
    assertThat(draining.took()).isEqualTo(Duration.ofSeconds(10));
    assertThat(draining.counts()).containsEntry("busy", 1L).containsEntry("idle", 1L);
    assertThat(draining.detail()).contains("readiness off").contains("stop timeout 20s");
    PhaseChange drained = changes.get(2);
    assertThat(drained.detail()).isEqualTo("drained (busy at stop: 1)");
    assertThat(drained.took()).isEqualTo(Duration.ofSeconds(3));
    PhaseChange end = changes.get(3);
    assertThat(end.counts()).containsEntry("cancelled", 0L).containsEntry("forceClosed", 0L);
    Termination t = lc.terminated().join();
    assertThat(t.took()).isEqualTo(Duration.ofSeconds(3));
    assertThat(t.graceful()).isTrue();
  }

  @Test
  void stopTimeoutExpiryCancelsThenWaitsKillTimeoutThenForceCloses() {
    Lifecycle lc =
        build(b -> b.stopTimeout(Duration.ofSeconds(20)).killTimeout(Duration.ofSeconds(5)));
    lc.start();
    engine.request(1); // never ends by itself
    AtomicInteger workCancels = new AtomicInteger();
    tracker.begin("job", "never ends", workCancels::incrementAndGet);
    lc.stop(StopReason.API);
    clock.advance(Duration.ofSeconds(20).minusNanos(1));
    assertThat(events).doesNotContain("19999999999ns DRAINING->STOPPING api");
    clock.advance(Duration.ofNanos(1));
    clock.advance(Duration.ofSeconds(5).minusNanos(1));
    assertThat(events).noneMatch(e -> e.contains("forceClose"));
    clock.advance(Duration.ofNanos(1));

    assertThat(events)
        .containsExactly(
            "0s start",
            "0s STARTING->RUNNING",
            "0s RUNNING->DRAINING api",
            "0s stopAccepting",
            "0s enterLameDuck",
            "20s DRAINING->STOPPING api",
            "20s cancelInFlight 1",
            "25s forceClose 1",
            "25s release",
            "25s STOPPING->TERMINATED api");
    assertThat(changes.get(2).detail()).isEqualTo("stop timeout 20s expired");
    assertThat(workCancels).hasValue(1);
    Termination t = lc.terminated().join();
    assertThat(t.cancelled()).isEqualTo(2); // the request and the work
    assertThat(t.forceClosed()).isEqualTo(1);
    assertThat(t.abandonedWork()).isEqualTo(1);
    assertThat(t.graceful()).isFalse();
    assertThat(t.exitCode()).isZero();
    assertThat(t.took()).isEqualTo(Duration.ofSeconds(25));
  }

  @Test
  void cancelledRequestsThatEndAreNotWaitedForUntilTheKillTimeout() {
    Lifecycle lc =
        build(b -> b.stopTimeout(Duration.ofSeconds(20)).killTimeout(Duration.ofSeconds(5)));
    engine.cancelEndsRequests = true;
    lc.start();
    engine.request(1);
    lc.stop(StopReason.API);
    clock.advance(Duration.ofSeconds(20));

    assertThat(events)
        .endsWith(
            "20s DRAINING->STOPPING api",
            "20s cancelInFlight 1",
            "20s forceClose 0",
            "20s release",
            "20s STOPPING->TERMINATED api");
    assertThat(clock.pending()).as("kill timer cancelled").isZero();
  }

  @Test
  void stopTimeoutZeroWaitsForever() {
    Lifecycle lc = build(b -> b.stopTimeout(Duration.ZERO));
    lc.start();
    engine.request(1);
    lc.stop(StopReason.SIGNAL);
    clock.advance(Duration.ofDays(1000));
    assertThat(lc.phase()).isEqualTo(Phase.DRAINING);
    assertThat(clock.pending()).as("no stop timer at all").isZero();
    assertThat(events).last().isEqualTo("0s enterLameDuck");

    engine.move(1, CLOSED);
    assertThat(events)
        .last()
        .isEqualTo("1000d STOPPING->TERMINATED signal".replace("1000d", "24000h"));
    assertThat(lc.terminated().join().graceful()).isTrue();
  }

  @Test
  void stopWithATimeoutOverridesTheConfiguredOne() {
    Lifecycle lc = build(b -> b.stopTimeout(Duration.ofSeconds(20)));
    lc.start();
    engine.request(1);
    lc.stop(StopReason.API, Duration.ofSeconds(2));
    lc.stop(StopReason.API, Duration.ofSeconds(60)); // not the first request: no effect
    clock.advance(Duration.ofSeconds(2));
    assertThat(events).contains("2s DRAINING->STOPPING api", "2s cancelInFlight 1");
    assertThatThrownBy(() -> lc.stop(StopReason.API, Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("stopTimeout < 0: -1s");
  }

  @Test
  void aSecondForcedStopWhileDrainingSkipsToForceClose() {
    Lifecycle lc = build(b -> b.stopTimeout(Duration.ZERO));
    lc.start();
    engine.request(1);
    lc.stop(StopReason.SIGNAL);
    clock.advance(Duration.ofSeconds(5));
    lc.stopNow(StopReason.SIGNAL);

    assertThat(events)
        .containsExactly(
            "0s start",
            "0s STARTING->RUNNING",
            "0s RUNNING->DRAINING signal",
            "0s stopAccepting",
            "0s enterLameDuck",
            "5s DRAINING->STOPPING signal",
            "5s cancelInFlight 1",
            "5s forceClose 1",
            "5s release",
            "5s STOPPING->TERMINATED signal");
    assertThat(changes.get(2).detail()).isEqualTo("forced");
    assertThat(lc.terminated().join().graceful()).isFalse();
  }

  @Test
  void aForcedStopDuringTheKillTimeoutForceClosesAtOnce() {
    Lifecycle lc =
        build(b -> b.stopTimeout(Duration.ofSeconds(20)).killTimeout(Duration.ofSeconds(5)));
    lc.start();
    engine.request(1);
    lc.stop(StopReason.SIGNAL);
    clock.advance(Duration.ofSeconds(22));
    lc.stopNow(StopReason.SIGNAL);

    assertThat(events)
        .endsWith(
            "20s DRAINING->STOPPING signal",
            "20s cancelInFlight 1",
            "22s forceClose 1",
            "22s release",
            "22s STOPPING->TERMINATED signal");
    assertThat(clock.pending()).isZero();
  }

  @Test
  void aForcedFirstStopStillStopsAcceptingBeforeForceClosing() {
    Lifecycle lc = build(b -> b.drainDelay(Duration.ofSeconds(10)));
    lc.start();
    engine.request(1);
    lc.stopNow(StopReason.API);

    assertThat(events)
        .containsExactly(
            "0s start",
            "0s STARTING->RUNNING",
            "0s RUNNING->DRAINING api",
            "0s DRAINING->STOPPING api",
            "0s stopAccepting",
            "0s cancelInFlight 1",
            "0s forceClose 1",
            "0s release",
            "0s STOPPING->TERMINATED api");
    assertThat(clock.pending()).isZero();
  }

  @Test
  void stopBeforeStartTerminatesWithoutStartingAndStartThenFails() {
    Lifecycle lc = build(b -> b);
    lc.stop(StopReason.API);

    assertThat(events)
        .containsExactly(
            "0s STARTING->STOPPING api",
            "0s stopAccepting",
            "0s forceClose 0",
            "0s release",
            "0s STOPPING->TERMINATED api");
    assertThat(lc.terminated()).isDone();
    assertThatThrownBy(lc::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("stopped before start (api)");
    assertThat(events).doesNotContain("0s start");
  }

  @Test
  void aStopRequestedWhileStartingWaitsForTheStartThenDrains() throws Exception {
    Lifecycle lc = build(b -> b);
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch proceed = engine.blockStart(started);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread starter =
        Thread.ofPlatform()
            .start(
                () -> {
                  try {
                    lc.start();
                  } catch (Throwable t) {
                    failure.set(t);
                  }
                });
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();

    lc.stop(StopReason.SIGNAL);
    assertThat(lc.isReady()).isFalse();
    assertThat(events).as("no engine step while it starts").containsExactly("0s start");

    proceed.countDown();
    starter.join(TimeUnit.SECONDS.toMillis(10));
    assertThat(failure.get()).isNull();
    assertThat(events)
        .containsExactly(
            "0s start",
            "0s STARTING->DRAINING signal",
            "0s stopAccepting",
            "0s enterLameDuck",
            "0s DRAINING->STOPPING signal",
            "0s forceClose 0",
            "0s release",
            "0s STOPPING->TERMINATED signal");
    assertThat(lc.isReady()).isFalse();
  }

  @Test
  void aFailedStartReleasesWhatWasOpenedAndExitsWithOne() {
    Lifecycle lc = build(b -> b);
    IllegalStateException boom = new IllegalStateException("cannot listen on :80");
    engine.onStart =
        () -> {
          throw boom;
        };

    assertThatThrownBy(lc::start).isSameAs(boom);
    assertThat(events)
        .containsExactly(
            "0s start",
            "0s STARTING->STOPPING start-failed",
            "0s stopAccepting",
            "0s forceClose 0",
            "0s release",
            "0s STOPPING->TERMINATED start-failed");
    Termination t = lc.terminated().join();
    assertThat(t.exitCode()).isEqualTo(1);
    assertThat(t.failures()).containsExactly(boom);
  }

  @Test
  void concurrentStopsGiveOneSequence() throws Exception {
    for (int round = 0; round < 20; round++) {
      events.clear();
      changes.clear();
      Lifecycle lc = build(b -> b);
      lc.start();
      engine.request(1);
      engine.move(1, IDLE);
      int threads = 6;
      CountDownLatch go = new CountDownLatch(1);
      List<Thread> stoppers = new ArrayList<>();
      StopReason[] reasons = {StopReason.API, StopReason.SIGNAL, StopReason.IDLE};
      for (int i = 0; i < threads; i++) {
        StopReason r = reasons[i % reasons.length];
        stoppers.add(
            Thread.ofPlatform()
                .start(
                    () -> {
                      try {
                        go.await();
                      } catch (InterruptedException e) {
                        return;
                      }
                      lc.stop(r);
                    }));
      }
      go.countDown();
      for (Thread t : stoppers) t.join(TimeUnit.SECONDS.toMillis(10));

      String reason = lc.stopReason().orElseThrow().label();
      assertThat(events)
          .containsExactly(
              "0s start",
              "0s STARTING->RUNNING",
              "0s RUNNING->DRAINING " + reason,
              "0s stopAccepting",
              "0s enterLameDuck",
              "0s DRAINING->STOPPING " + reason,
              "0s forceClose 0",
              "0s release",
              "0s STOPPING->TERMINATED " + reason);
      assertThat(lc.terminated()).isDone();
    }
  }

  @Test
  void drainDelayKeepsServingWithReadinessOffThenProceeds() {
    Lifecycle lc = build(b -> b.drainDelay(Duration.ofSeconds(5)));
    lc.start();
    lc.stop(StopReason.SIGNAL);
    assertThat(lc.isReady()).isFalse();
    assertThat(lc.phase()).isEqualTo(Phase.DRAINING);
    clock.advance(Duration.ofSeconds(5).minusNanos(1));
    assertThat(events).noneMatch(e -> e.contains("stopAccepting"));
    engine.request(9); // still accepting: a balancer had not noticed yet
    engine.move(9, IDLE);
    clock.advance(Duration.ofNanos(1));

    assertThat(events)
        .containsExactly(
            "0s start",
            "0s STARTING->RUNNING",
            "0s RUNNING->DRAINING signal",
            "5s stopAccepting",
            "5s enterLameDuck",
            "5s DRAINING->STOPPING signal",
            "5s forceClose 0",
            "5s release",
            "5s STOPPING->TERMINATED signal");
  }

  @Test
  void readinessTurnsFalseBeforeAnyOtherStep() {
    QueueExecutor executor = new QueueExecutor();
    Lifecycle lc = build(null, executor, b -> b);
    lc.start();
    executor.runAll();
    assertThat(lc.isReady()).isTrue();

    lc.stop(StopReason.API);

    assertThat(lc.isReady()).isFalse();
    assertThat(events).containsExactly("0s start", "0s STARTING->RUNNING");
    executor.runAll();
    assertThat(events).last().isEqualTo("0s STOPPING->TERMINATED api");
  }

  @Test
  void onTerminatedHooksRunOnceEach() throws Exception {
    Lifecycle lc = build(b -> b);
    List<String> ran = new ArrayList<>();
    lc.onTerminated(t -> ran.add("first " + t.reason()));
    lc.onTerminated(
        t -> {
          throw new IllegalStateException("expected by the test");
        });
    lc.onTerminated(t -> ran.add("second " + t.reason()));
    lc.start();
    lc.stop(StopReason.API);
    lc.stop(StopReason.SIGNAL);
    lc.stopNow(StopReason.SIGNAL);
    lc.onTerminated(t -> ran.add("late " + t.reason()));

    assertThat(ran).containsExactly("first API", "second API", "late API");
    assertThat(lc.awaitTermination(Duration.ofSeconds(1))).isPresent();
    assertThat(events.stream().filter(e -> e.contains("TERMINATED"))).hasSize(1);
  }

  @Test
  void theIdleTimerStopsTheLifecycleWithReasonIdle() {
    Lifecycle lc = build(Duration.ofSeconds(30), Runnable::run, b -> b);
    lc.start();
    engine.request(1);
    clock.advance(Duration.ofSeconds(10));
    engine.move(1, IDLE);
    clock.advance(Duration.ofSeconds(30));

    assertThat(events)
        .containsExactly(
            "0s start",
            "0s STARTING->RUNNING",
            "40s RUNNING->DRAINING idle",
            "40s stopAccepting",
            "40s enterLameDuck",
            "40s DRAINING->STOPPING idle",
            "40s forceClose 0",
            "40s release",
            "40s STOPPING->TERMINATED idle");
    assertThat(lc.terminated().join().reason()).isEqualTo(StopReason.IDLE);
  }

  @Test
  void aConnectionAcceptedJustAfterTheIdleTimerFiredIsServedNotCut() {
    QueueExecutor executor = new QueueExecutor();
    Lifecycle lc = build(Duration.ofSeconds(30), executor, b -> b);
    lc.start();
    executor.runAll();
    clock.advance(Duration.ofSeconds(30)); // fires: stop(IDLE) is requested, steps not run yet
    assertThat(lc.phase()).isEqualTo(Phase.DRAINING);
    engine.request(1); // accepted before the listeners closed
    executor.runAll();
    assertThat(events).last().isEqualTo("30s enterLameDuck");
    clock.advance(Duration.ofSeconds(2));
    engine.move(1, CLOSED); // served, with Connection: close
    executor.runAll();

    assertThat(events)
        .endsWith(
            "32s DRAINING->STOPPING idle",
            "32s forceClose 0",
            "32s release",
            "32s STOPPING->TERMINATED idle");
    assertThat(lc.terminated().join().graceful()).isTrue();
  }

  @Test
  void aFailingEngineStepIsRecordedAndTheNextStepsStillRun() {
    Lifecycle lc = build(b -> b);
    lc.start();
    engine.failSteps = true;
    lc.stop(StopReason.API);

    assertThat(events)
        .containsSubsequence(
            "0s stopAccepting",
            "0s enterLameDuck",
            "0s forceClose 0",
            "0s release",
            "0s STOPPING->TERMINATED api");
    Termination t = lc.terminated().join();
    assertThat(t.failures()).hasSize(4);
    assertThat(t.exitCode()).isZero();
  }

  @Test
  void theBuilderRefusesBadValuesAndASecondIdleAction() {
    ActivityTracker withAction =
        ActivityTracker.builder().ticker(clock).scheduler(clock).onIdle(() -> {}).build();
    assertThatThrownBy(() -> Lifecycle.builder(engine, withAction).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("the tracker already has an idle action");
    ActivityTracker t = ActivityTracker.builder().build();
    assertThatThrownBy(() -> Lifecycle.builder(engine, t).stopTimeout(Duration.ofMillis(-5)))
        .hasMessage("stopTimeout < 0: -5ms");
    assertThatThrownBy(() -> Lifecycle.builder(engine, t).killTimeout(Duration.ofSeconds(-1)))
        .hasMessage("killTimeout < 0: -1s");
    assertThatThrownBy(() -> Lifecycle.builder(engine, t).drainDelay(Duration.ofSeconds(-1)))
        .hasMessage("drainDelay < 0: -1s");
    Lifecycle lc = Lifecycle.builder(engine, t).build();
    assertThat(lc.stopTimeout()).isEqualTo(Duration.ofSeconds(20));
    assertThat(lc.killTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(lc.drainDelay()).isZero();
  }

  @Test
  void connectionStatesAreCountedFromAccept() {
    Lifecycle lc = build(b -> b);
    lc.start();
    engine.move(1, NEW);
    assertThat(tracker.busy()).isEqualTo(1);
    engine.move(1, ACTIVE);
    engine.move(1, CLOSED);
    assertThat(tracker.counts().accepted()).isEqualTo(1);
    lc.stop(StopReason.API);
  }

  @Test
  void withTheDefaultExecutorAndSystemClockTheStepsRunOnALifecycleThread() throws Exception {
    ActivityTracker real = ActivityTracker.builder().build();
    engine.tracker = real;
    List<String> threads = Collections.synchronizedList(new ArrayList<>());
    Lifecycle lc =
        Lifecycle.builder(engine, real)
            .stopTimeout(Duration.ofMillis(50))
            .killTimeout(Duration.ZERO)
            .listener(c -> threads.add(Thread.currentThread().getName()))
            .build();
    lc.start();
    engine.request(1); // never ends: the real stop timer has to fire
    lc.stop(StopReason.API);

    Termination t = lc.awaitTermination(Duration.ofSeconds(30)).orElseThrow();
    assertThat(t.forceClosed()).isEqualTo(1);
    assertThat(events).containsSubsequence("0s cancelInFlight 1", "0s forceClose 1", "0s release");
    assertThat(threads).hasSize(4).allMatch(n -> n.equals("lull-lifecycle"));
  }

  @Test
  void eachTransitionIsLoggedOnceWithItsReasonDurationAndCounts() {
    java.util.logging.Logger jul = java.util.logging.Logger.getLogger("dev.lull.lifecycle");
    List<java.util.logging.LogRecord> records = Collections.synchronizedList(new ArrayList<>());
    java.util.logging.Handler handler =
        new java.util.logging.Handler() {
          @Override
          public void publish(java.util.logging.LogRecord r) {
            records.add(r);
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    jul.addHandler(handler);
    try {
      Lifecycle lc = build(b -> b.stopTimeout(Duration.ofSeconds(20)).killTimeout(Duration.ZERO));
      lc.start();
      engine.request(1);
      clock.advance(Duration.ofSeconds(90));
      lc.stop(StopReason.SIGNAL);
      clock.advance(Duration.ofSeconds(20));
    } finally {
      jul.removeHandler(handler);
    }

    assertThat(records)
        .extracting(r -> r.getLevel() + " " + r.getMessage())
        .containsExactly(
            "INFO STARTING -> RUNNING after 0s: started; busy 0 (new 0, active 0, idle 0,"
                + " hijacked 0, work 0)",
            "INFO RUNNING -> DRAINING (signal) after 1m30s: readiness off; drain delay 0s, stop"
                + " timeout 20s; busy 1 (new 0, active 1, idle 0, hijacked 0, work 0)",
            "INFO DRAINING -> STOPPING (signal) after 20s: stop timeout 20s expired; busy 1 (new 0,"
                + " active 1, idle 0, hijacked 0, work 0)",
            "WARNING STOPPING -> TERMINATED (signal) after 0s: cancelled 1, force-closed 1; stopped"
                + " in 20s; busy 0 (new 0, active 0, idle 0, hijacked 0, work 0)");
  }

  @Test
  void aFailedStartIsLoggedOnlyAtDebugSinceStartThrowsIt() {
    java.util.logging.Logger jul = java.util.logging.Logger.getLogger("dev.lull.lifecycle");
    List<java.util.logging.LogRecord> records = Collections.synchronizedList(new ArrayList<>());
    java.util.logging.Handler handler =
        new java.util.logging.Handler() {
          @Override
          public void publish(java.util.logging.LogRecord r) {
            if (r.getLevel().intValue() >= java.util.logging.Level.INFO.intValue()) records.add(r);
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    jul.addHandler(handler);
    try {
      Lifecycle lc = build(b -> b);
      engine.onStart =
          () -> {
            throw new IllegalStateException("cannot listen");
          };
      assertThatThrownBy(lc::start).hasMessage("cannot listen");
      assertThat(lc.phase()).isEqualTo(Phase.TERMINATED);
    } finally {
      jul.removeHandler(handler);
    }
    assertThat(records).isEmpty();
  }

  @Test
  void idleConnectionsLeftAtTheStopTimeoutAreForceClosedWithoutWaitingTheKillTimeout() {
    Lifecycle lc =
        build(b -> b.stopTimeout(Duration.ofSeconds(20)).killTimeout(Duration.ofSeconds(5)));
    engine.onLameDuck = e -> {}; // an engine that leaves idle connections open
    lc.start();
    engine.request(1);
    engine.move(1, IDLE);
    lc.stop(StopReason.API);
    clock.advance(Duration.ofSeconds(20));

    assertThat(events)
        .endsWith(
            "20s DRAINING->STOPPING api",
            "20s cancelInFlight 0",
            "20s forceClose 1",
            "20s release",
            "20s STOPPING->TERMINATED api");
    assertThat(clock.pending()).isZero();
  }
}
