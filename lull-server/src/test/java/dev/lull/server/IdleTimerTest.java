package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.core.ConnectionState;
import dev.lull.core.Phase;
import dev.lull.core.StopReason;
import dev.lull.core.Termination;
import dev.lull.core.testing.ManualClock;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The idle timer of a real server with real connections, on a {@link ManualClock}: the test moves
 * time by hand and compares the recorded events (idle timer and connection states) with the
 * expected sequence. Only the idle timer and the lifecycle use the manual clock; the connection
 * timers (keep-alive, read-header, lame-duck grace) run on Netty's.
 */
class IdleTimerTest {
  private static final Duration IDLE = Duration.ofSeconds(30);
  private final ManualClock clock = new ManualClock();
  private final Recorder rec = new Recorder();
  private TestServer t;

  @AfterEach
  void close() {
    if (t != null) t.close();
  }

  private TestServer start(Handler handler, UnaryOperator<Server.Builder> options) {
    t =
        TestServer.start(
            handler,
            b ->
                options.apply(
                    b.clock(clock, clock)
                        .idleTimeout(IDLE)
                        .connectionListener(rec.connections())
                        .lifecycleListener(rec.phases())),
            s -> s.activity().addActivityListener(rec.idleTimer()));
    return t;
  }

  private static String get(String path) {
    return "GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n";
  }

  @Test
  void armsDisarmsOnActivityReArmsFromZeroAndFiresExactlyOnce() throws Exception {
    start((req, res) -> res.send("ok\n"), b -> b.lameDuckIdleGrace(Duration.ofMillis(100)));
    assertThat(rec.timeline()).containsExactly("armed 30s");

    clock.advance(Duration.ofSeconds(20));
    try (Conn c = t.connect()) {
      rec.await("conn 1 NEW");
      clock.advance(Duration.ofSeconds(20)); // 40s since it was armed: disarmed, so no fire

      c.send(get("/one"));
      assertThat(c.read().status()).isEqualTo(200);
      rec.await("conn 1 IDLE");
      clock.advance(Duration.ofSeconds(29)); // counted from the IDLE just now, not from before

      c.send(get("/two"));
      assertThat(c.read().status()).isEqualTo(200);
      rec.await("conn 1 IDLE", 2);
      clock.advance(Duration.ofSeconds(29));
      assertThat(rec.count("fired")).isZero();

      clock.advance(Duration.ofSeconds(1));
      List<String> expected =
          List.of(
              "armed 30s",
              "disarmed",
              "conn 1 NEW",
              "conn 1 ACTIVE",
              "armed 30s",
              "conn 1 IDLE",
              "disarmed",
              "conn 1 ACTIVE",
              "armed 30s",
              "conn 1 IDLE",
              "fired");
      assertThat(rec.timeline()).startsWith(expected.toArray(String[]::new));

      // The idle action is a graceful stop: the idle keep-alive connection is closed after the
      // lame-duck grace, cleanly, and the server terminates with reason idle.
      assertThat(c.in.read()).as("end of stream").isEqualTo(-1);
      Termination end = t.server.awaitTermination(Duration.ofSeconds(10)).orElseThrow();
      assertThat(end.reason()).isEqualTo(StopReason.IDLE);
      assertThat(end.graceful()).isTrue();
      assertThat(end.exitCode()).isZero();
    }
    clock.advance(Duration.ofHours(1));
    assertThat(rec.count("fired")).as("fires once in the server's life").isEqualTo(1);
    assertThat(rec.events("phase"))
        .containsExactly("phase RUNNING", "phase DRAINING", "phase STOPPING", "phase TERMINATED");
    assertThat(rec.events("conn")).endsWith("conn 1 IDLE", "conn 1 CLOSED");
  }

  @Test
  void idleKeepAliveConnectionsDoNotKeepTheServerAwake() throws Exception {
    start((req, res) -> res.send("ok\n"), b -> b);
    try (Conn c = t.connect()) {
      c.send(get("/"));
      assertThat(c.read().status()).isEqualTo(200);
      rec.await("conn 1 IDLE");
      clock.advance(IDLE);
      assertThat(rec.count("fired")).isEqualTo(1);
      t.server.awaitTermination(Duration.ofSeconds(10)).orElseThrow();
    }
  }

  @Test
  void aConnectionThatSendsNothingKeepsTheServerBusyOnlyUntilReadHeaderTimeout() throws Exception {
    // Long enough for the test to advance the clock while the connection is surely still NEW.
    start((req, res) -> res.send("ok\n"), b -> b.readHeaderTimeout(Duration.ofSeconds(2)));
    try (Conn c = t.connect()) {
      rec.await("conn 1 NEW");
      clock.advance(Duration.ofHours(1));
      assertThat(rec.count("fired")).as("busy while NEW").isZero();

      // The engine closes it after readHeaderTimeout (on Netty's clock); then the countdown runs.
      c.awaitClose(Duration.ofSeconds(10));
      rec.await("conn 1 CLOSED");
      clock.advance(IDLE);
      assertThat(rec.timeline())
          .containsExactly(
              "armed 30s", "disarmed", "conn 1 NEW", "armed 30s", "conn 1 CLOSED", "fired");
      t.server.awaitTermination(Duration.ofSeconds(10)).orElseThrow();
    }
  }

  @Test
  void aHijackedConnectionKeepsTheServerBusyUntilItCloses() throws Exception {
    CompletableFuture<Hijacked> taken = new CompletableFuture<>();
    start(
        (req, res) -> {
          Hijacked h = res.hijack();
          h.output().write("HTTP/1.1 101 Switching Protocols\r\n\r\n".getBytes());
          taken.complete(h); // handed to another thread, as Go allows: the handler returns
        },
        b -> b);
    try (Conn c = t.connect()) {
      c.send("GET /raw HTTP/1.1\r\nHost: t\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n");
      assertThat(RawHttp.readLine(c.in)).isEqualTo("HTTP/1.1 101 Switching Protocols");
      assertThat(RawHttp.readLine(c.in)).isEmpty();
      rec.await("conn 1 HIJACKED");
      clock.advance(Duration.ofHours(1));
      assertThat(rec.count("fired")).as("busy while hijacked").isZero();
      assertThat(t.server.activity().counts().hijacked()).isEqualTo(1);

      Hijacked h = taken.get(10, TimeUnit.SECONDS);
      OutputStream out = h.output();
      out.write("still here\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(RawHttp.readLine(c.in)).isEqualTo("still here");
      h.close();
      assertThat(c.in.read()).isEqualTo(-1);
      rec.await("conn 1 CLOSED");
      clock.advance(IDLE);
      assertThat(rec.timeline())
          .containsExactly(
              "armed 30s",
              "disarmed",
              "conn 1 NEW",
              "conn 1 ACTIVE",
              "conn 1 HIJACKED",
              "armed 30s",
              "conn 1 CLOSED",
              "fired");
      assertThat(t.server.awaitTermination(Duration.ofSeconds(10)).orElseThrow().graceful())
          .isTrue();
    }
  }

  @Test
  void recordedStatesOfKeepAliveAndClosingClientsMatchConnectionStateDocs() throws Exception {
    start(
        (req, res) -> res.send("ok\n"),
        b -> b.idleTimeout(Duration.ZERO).readHeaderTimeout(Duration.ofSeconds(1)));
    // Keep-alive: two requests, then the client closes while idle.
    try (Conn c = t.connect()) {
      for (int i = 0; i < 2; i++) {
        c.send(get("/"));
        assertThat(c.read().status()).isEqualTo(200);
        rec.await(e -> e.endsWith(" IDLE"), i + 1, Duration.ofSeconds(10), "IDLE");
      }
    }
    rec.await(e -> e.endsWith(" CLOSED"), 1, Duration.ofSeconds(10), "CLOSED");
    // Not keep-alive: HTTP/1.1 with Connection: close, and HTTP/1.0.
    for (String request :
        List.of(
            "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "GET / HTTP/1.0\r\n\r\n")) {
      try (Conn c = t.connect()) {
        c.send(request);
        assertThat(c.read().status()).isEqualTo(200);
        c.awaitClose(Duration.ofSeconds(10));
      }
    }
    // Nothing sent: closed after readHeaderTimeout. A bad request: answered, then closed.
    try (Conn c = t.connect()) {
      c.awaitClose(Duration.ofSeconds(10));
    }
    try (Conn c = t.connect()) {
      c.send("BAD\r\n\r\n");
      assertThat(c.read().status()).isEqualTo(400);
      c.awaitClose(Duration.ofSeconds(10));
    }
    rec.await(e -> e.endsWith(" CLOSED"), 5, Duration.ofSeconds(10), "5 closed");

    List<Long> ids = rec.connectionIds();
    assertThat(ids).hasSize(5);
    assertThat(rec.states(ids.get(0)))
        .containsExactly(
            ConnectionState.NEW,
            ConnectionState.ACTIVE,
            ConnectionState.IDLE,
            ConnectionState.ACTIVE,
            ConnectionState.IDLE,
            ConnectionState.CLOSED);
    for (int i = 1; i <= 2; i++) {
      assertThat(rec.states(ids.get(i)))
          .containsExactly(ConnectionState.NEW, ConnectionState.ACTIVE, ConnectionState.CLOSED);
    }
    assertThat(rec.states(ids.get(3))).containsExactly(ConnectionState.NEW, ConnectionState.CLOSED);
    assertThat(rec.states(ids.get(4)))
        .containsExactly(ConnectionState.NEW, ConnectionState.ACTIVE, ConnectionState.CLOSED);
    assertThat(t.server.lifecycle().phase()).isEqualTo(Phase.RUNNING);
    assertThat(t.server.activity().counts().open()).isZero();
  }
}
