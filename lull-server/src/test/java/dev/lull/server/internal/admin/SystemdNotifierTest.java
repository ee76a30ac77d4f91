package dev.lull.server.internal.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.ActivityTracker;
import dev.lull.core.ConnectionState;
import dev.lull.core.Lifecycle;
import dev.lull.core.Phase;
import dev.lull.core.StopReason;
import dev.lull.core.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * sd_notify through a real Unix datagram socket — systemd's side played by {@link DatagramReceiver}
 * — with the lifecycle and the timers under a {@link ManualClock}.
 */
class SystemdNotifierTest {
  private final ManualClock clock = new ManualClock();
  private final FakeDrainable engine = new FakeDrainable(clock);
  private ActivityTracker tracker;
  private Lifecycle lifecycle;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @BeforeEach
  void setUp() {
    tracker = ActivityTracker.builder().ticker(clock).scheduler(clock).build();
    engine.tracker = tracker;
    lifecycle =
        Lifecycle.builder(engine, tracker)
            .executor(Runnable::run)
            .stopTimeout(Duration.ofSeconds(20))
            .killTimeout(Duration.ofSeconds(5))
            .build();
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : toClose) c.close();
  }

  private <T extends AutoCloseable> T closeLater(T c) {
    toClose.add(c);
    return c;
  }

  @Test
  void readyThenStoppingInOrderOnASocketFile() throws Exception {
    readyThenStopping(closeLater(DatagramReceiver.onPath()));
  }

  @Test
  void readyThenStoppingInOrderOnAnAbstractSocket() throws Exception {
    DatagramReceiver receiver = closeLater(DatagramReceiver.abstractName());
    assertThat(receiver.notifySocket).startsWith("@");
    readyThenStopping(receiver);
  }

  private void readyThenStopping(DatagramReceiver receiver) throws Exception {
    SdNotify notify = closeLater(SdNotify.open(receiver.notifySocket));
    SystemdNotifier.install(
        lifecycle, notify, Optional.empty(), LivenessProbe.alwaysAlive(), Duration.ofSeconds(5));

    lifecycle.start();
    engine.open(1, ConnectionState.ACTIVE);
    lifecycle.stop(StopReason.SIGNAL);
    engine.move(1, ConnectionState.CLOSED); // drained: the stop goes on to the end

    assertThat(lifecycle.phase()).isEqualTo(Phase.TERMINATED);
    assertThat(receiver.drain())
        .containsExactly(
            "READY=1\nSTATUS=serving 0 connections (0 active, 0 idle)",
            "STOPPING=1\nSTATUS=draining 1 connection\nEXTEND_TIMEOUT_USEC=10000000",
            "STATUS=stopping: 0 connections left\nEXTEND_TIMEOUT_USEC=10000000",
            "STATUS=stopped (signal)");
    // The notifier closed its socket once terminated.
    assertThat(notify.send("STATUS=late")).isFalse();
  }

  @Test
  void watchdogPingsEveryHalfOfWatchdogUsecWhileTheEventLoopsAnswer() throws Exception {
    DatagramReceiver receiver = closeLater(DatagramReceiver.abstractName());
    SdNotify notify = closeLater(SdNotify.open(receiver.notifySocket));
    AtomicBoolean alive = new AtomicBoolean(true);
    List<CompletableFuture<Void>> unanswered = new CopyOnWriteArrayList<>();
    LivenessProbe probe =
        () -> {
          CompletableFuture<Void> f = new CompletableFuture<>();
          if (alive.get()) {
            f.complete(null);
          } else {
            unanswered.add(f);
          }
          return f;
        };
    SystemdNotifier n =
        closeLater(
            SystemdNotifier.install(
                lifecycle,
                notify,
                Optional.of(Duration.ofSeconds(10)), // WATCHDOG_USEC=10000000
                probe,
                Duration.ofSeconds(5)));
    assertThat(n.watchdogInterval()).hasValue(Duration.ofSeconds(5));

    clock.advance(Duration.ofMillis(4_999));
    assertThat(receiver.drain()).isEmpty();
    clock.advance(Duration.ofMillis(1));
    assertThat(receiver.drain()).containsExactly("WATCHDOG=1");
    clock.advance(Duration.ofSeconds(15)); // t = 20s
    assertThat(receiver.drain()).containsExactly("WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1");

    // The event loops stop answering: the probe sent at 20s was answered (ping at 25s), the one
    // sent at 25s is not, so no ping at 30s nor 35s.
    alive.set(false);
    clock.advance(Duration.ofSeconds(15)); // t = 35s
    assertThat(receiver.drain()).containsExactly("WATCHDOG=1");

    // They answer again: pings resume at the next tick.
    alive.set(true);
    unanswered.forEach(f -> f.complete(null));
    clock.advance(Duration.ofSeconds(5)); // t = 40s
    assertThat(receiver.drain()).containsExactly("WATCHDOG=1");
  }

  @Test
  void extendsTheStopTimeoutOnlyWhileTheStopIsWithinItsBudget() throws Exception {
    DatagramReceiver receiver = closeLater(DatagramReceiver.onPath());
    SdNotify notify = closeLater(SdNotify.open(receiver.notifySocket));
    SystemdNotifier.install(
        lifecycle, notify, Optional.empty(), LivenessProbe.alwaysAlive(), Duration.ofSeconds(5));
    lifecycle.start();
    engine.open(1, ConnectionState.ACTIVE); // a request that will not end by itself
    engine.open(2, ConnectionState.ACTIVE);
    clock.advance(Duration.ofSeconds(5)); // a status refresh while running
    assertThat(receiver.drain())
        .containsExactly(
            "READY=1\nSTATUS=serving 0 connections (0 active, 0 idle)",
            "STATUS=serving 2 connections (2 active, 0 idle)");

    lifecycle.stop(StopReason.SIGNAL); // t = 5s; budget: 20s stop + 5s kill, so until 30s
    clock.advance(Duration.ofSeconds(5));
    engine.move(2, ConnectionState.CLOSED);
    clock.advance(Duration.ofSeconds(5));
    assertThat(receiver.drain())
        .containsExactly(
            "STOPPING=1\nSTATUS=draining 2 connections\nEXTEND_TIMEOUT_USEC=10000000",
            "EXTEND_TIMEOUT_USEC=10000000",
            "STATUS=draining 1 connection\nEXTEND_TIMEOUT_USEC=10000000");

    clock.advance(Duration.ofSeconds(10)); // t = 25s: the stop timeout expires
    assertThat(lifecycle.phase()).isEqualTo(Phase.STOPPING);
    assertThat(receiver.drain())
        .containsExactly(
            "EXTEND_TIMEOUT_USEC=10000000",
            "STATUS=stopping: 1 connection left\nEXTEND_TIMEOUT_USEC=10000000",
            "EXTEND_TIMEOUT_USEC=10000000");

    clock.advance(Duration.ofSeconds(5)); // t = 30s: the kill timeout expires, force-close
    assertThat(lifecycle.phase()).isEqualTo(Phase.TERMINATED);
    assertThat(engine.events).contains("30s forceClose 1");
    assertThat(receiver.drain()).containsExactly("STATUS=stopped (signal)");
  }

  @Test
  void failingToNotifyIsLoggedOnceAndNeverThrows() throws Exception {
    List<LogRecord> logged = new CopyOnWriteArrayList<>();
    Logger logger = Logger.getLogger("dev.lull.systemd");
    Handler h =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            logged.add(r);
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    h.setLevel(Level.ALL);
    logger.addHandler(h);
    try {
      SdNotify notify = closeLater(SdNotify.open("/nonexistent-lull-dir/notify"));
      SystemdNotifier.install(
          lifecycle, notify, Optional.empty(), LivenessProbe.alwaysAlive(), Duration.ofSeconds(5));
      lifecycle.start();
      lifecycle.stop(StopReason.API);
      assertThat(lifecycle.phase()).isEqualTo(Phase.TERMINATED);
      List<LogRecord> warnings =
          logged.stream().filter(r -> r.getLevel() == Level.WARNING).toList();
      assertThat(warnings).hasSize(1);
      assertThat(warnings.get(0).getMessage())
          .startsWith("cannot notify systemd at /nonexistent-lull-dir/notify: ")
          .endsWith("(further failures are logged at DEBUG)");
      assertThat(warnings.get(0).getThrown()).isNull();
    } finally {
      logger.removeHandler(h);
    }
  }

  @Test
  void notifySocketMustBeAPathOrAnAbstractName() {
    assertThat(SdNotify.open("/run/systemd/notify").address()).isEqualTo("/run/systemd/notify");
    assertThat(SdNotify.open("@foo").address()).isEqualTo("@foo");
    assertThatThrownBy(() -> SdNotify.open("vsock:2:1234"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "NOTIFY_SOCKET must be an absolute path or an @abstract name: \"vsock:2:1234\"");
    assertThatThrownBy(() -> SdNotify.open("relative/notify"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SdNotify.open("@")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void environmentGivesTheSocketAndTheWatchdogForThisProcessOnly() {
    SystemdEnvironment none = SystemdEnvironment.parse(Map.of(), 42);
    assertThat(none.notifySocket()).isEmpty();
    assertThat(none.watchdog()).isEmpty();

    SystemdEnvironment ours =
        SystemdEnvironment.parse(
            Map.of("NOTIFY_SOCKET", "@sd", "WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "42"), 42);
    assertThat(ours.notifySocket()).hasValue("@sd");
    assertThat(ours.watchdog()).hasValue(Duration.ofSeconds(30));
    assertThat(ours.problems()).isEmpty();

    SystemdEnvironment noPid =
        SystemdEnvironment.parse(Map.of("NOTIFY_SOCKET", "/n", "WATCHDOG_USEC", "500000"), 42);
    assertThat(noPid.watchdog()).hasValue(Duration.ofMillis(500));

    SystemdEnvironment theirs =
        SystemdEnvironment.parse(Map.of("WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "7"), 42);
    assertThat(theirs.watchdog()).isEmpty();
    assertThat(theirs.problems())
        .containsExactly("WATCHDOG_PID=7 is not this process (pid 42): no watchdog");

    SystemdEnvironment bad = SystemdEnvironment.parse(Map.of("WATCHDOG_USEC", "soon"), 42);
    assertThat(bad.watchdog()).isEmpty();
    assertThat(bad.problems()).hasSize(1);
    assertThat(SystemdEnvironment.parse(Map.of("NOTIFY_SOCKET", ""), 42).notifySocket()).isEmpty();
  }
}
