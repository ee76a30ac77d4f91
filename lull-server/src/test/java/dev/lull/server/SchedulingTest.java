package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Where handler threads run: on their connection's event loop, on the JDK's shared scheduler, and
 * moving between them per route. Surefire runs with {@code --add-opens java.base/java.lang}, so
 * {@link Scheduling#EVENT_LOOP} is available here; the last test runs a JVM without it.
 */
class SchedulingTest {
  /**
   * The carrier of the calling virtual thread, from its toString ("VirtualThread[..]/runnable@x").
   */
  static String carrier() {
    String s = Thread.currentThread().toString();
    int at = s.lastIndexOf('@');
    return at < 0 ? "" : s.substring(at + 1);
  }

  @Test
  void byDefaultAHandlerRunsOnItsConnectionsEventLoop() throws Exception {
    AtomicReference<String> seen = new AtomicReference<>();
    AtomicReference<Thread> thread = new AtomicReference<>();
    try (TestServer t =
        TestServer.start(
            (req, res) -> {
              thread.set(Thread.currentThread());
              seen.set(carrier());
              res.send("ok");
            })) {
      assertThat(t.get("/").statusCode()).isEqualTo(200);
    }
    assertThat(thread.get().isVirtual()).isTrue();
    assertThat(seen.get()).startsWith("lull-io-");
  }

  @Test
  void sharedSchedulingRunsHandlersOnTheJdksCarriers() throws Exception {
    AtomicReference<String> seen = new AtomicReference<>();
    try (TestServer t =
        TestServer.start(
            (req, res) -> {
              seen.set(carrier());
              res.send("ok");
            },
            b -> b.scheduling(Scheduling.SHARED))) {
      assertThat(t.get("/").statusCode()).isEqualTo(200);
    }
    assertThat(seen.get()).startsWith("ForkJoinPool").doesNotContain("lull-io");
  }

  @Test
  void aRouteMovesItsRequestsToTheSharedSchedulerAndBack() throws Exception {
    AtomicReference<String> before = new AtomicReference<>();
    AtomicReference<String> inShared = new AtomicReference<>();
    AtomicReference<String> inLoop = new AtomicReference<>();
    Router router =
        Router.builder()
            .route(
                "GET /heavy",
                (req, res) -> {
                  inShared.set(carrier());
                  res.send("heavy");
                },
                RouteOptions.builder().scheduling(Scheduling.SHARED).build())
            .route(
                "GET /light",
                (req, res) -> {
                  inLoop.set(carrier());
                  res.send("light");
                },
                RouteOptions.builder().scheduling(Scheduling.EVENT_LOOP).build())
            .build();
    try (TestServer t =
            TestServer.start(
                (req, res) -> {
                  if (req.path().equals("/heavy")) before.set(carrier());
                  router.handle(req, res);
                });
        TestServer s = TestServer.start(router, b -> b.scheduling(Scheduling.SHARED))) {
      assertThat(t.get("/heavy").body()).isEqualTo("heavy");
      assertThat(s.get("/light").body()).isEqualTo("light");
    }
    assertThat(before.get()).startsWith("lull-io-");
    assertThat(inShared.get()).startsWith("ForkJoinPool");
    assertThat(inLoop.get()).startsWith("lull-io-");
  }

  /**
   * One event loop; a route that computes without parking. Marked SHARED, it leaves the loop free:
   * another connection is served while it spins. (On the loop, the second request would wait for
   * the spin to end, which here only ends when the second request has been answered.)
   */
  @Test
  void aSharedRouteThatComputesDoesNotHoldUpTheEventLoop() throws Exception {
    CountDownLatch spinning = new CountDownLatch(1);
    AtomicBoolean answered = new AtomicBoolean();
    Router router =
        Router.builder()
            .route(
                "GET /spin",
                (req, res) -> {
                  spinning.countDown();
                  long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                  while (!answered.get() && System.nanoTime() - end < 0) Thread.onSpinWait();
                  res.send(answered.get() ? "released" : "timed out");
                },
                RouteOptions.builder().scheduling(Scheduling.SHARED).build())
            .route("GET /", (req, res) -> res.send("hello"))
            .build();
    try (TestServer t = TestServer.start(router, b -> b.ioThreads(1));
        Conn spin = t.connect();
        Conn other = t.connect()) {
      spin.send("GET /spin HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(spinning.await(10, TimeUnit.SECONDS)).isTrue();
      other.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      RawHttp.Response hello = other.read();
      answered.set(true);
      assertThat(hello.status()).isEqualTo(200);
      assertThat(spin.read().bodyText()).isEqualTo("released");
    }
  }

  /**
   * A route left on the event loop that computes for 50 ms: after that stretch the rest of its
   * request runs on the shared scheduler, the engine counts it and names the route once, the second
   * time (the first may be a cold start loading classes); a quick route stays on the loop.
   */
  @Test
  void aStretchThatHoldsTheEventLoopMovesTheRestOfItsRequestOff() throws Exception {
    AtomicReference<String> during = new AtomicReference<>();
    AtomicReference<String> after = new AtomicReference<>();
    AtomicReference<String> quick = new AtomicReference<>();
    Router router =
        Router.builder()
            .get(
                "/busy",
                (req, res) -> {
                  during.set(carrier());
                  long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
                  while (System.nanoTime() - end < 0) Thread.onSpinWait();
                  Thread.yield(); // the end of the stretch: resubmitted through the scheduler
                  after.set(carrier());
                  res.send("busy");
                })
            .get(
                "/quick",
                (req, res) -> {
                  quick.set(carrier());
                  res.send("quick");
                })
            .build();
    io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry =
        new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
            io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
    try (LogCapture logs = LogCapture.lull();
        TestServer t = TestServer.start(router, b -> b.meterRegistry(registry))) {
      assertThat(t.get("/busy").body()).isEqualTo("busy");
      assertThat(logs.all()).noneMatch(r -> r.getMessage().contains("held an event loop"));
      assertThat(t.get("/busy").body()).isEqualTo("busy");
      assertThat(t.get("/busy").body()).isEqualTo("busy");
      assertThat(t.get("/quick").body()).isEqualTo("quick");
      // At least: on a loaded machine a stretch the OS preempted for 10 ms counts too.
      assertThat(t.server.engine().loopHolds()).isGreaterThanOrEqualTo(3);
      assertThat(registry.scrape()).contains("lull_event_loop_holds_total");
      assertThat(registry.get("lull.event.loop.holds").functionCounter().count())
          .isGreaterThanOrEqualTo(3);
      assertThat(logs.all())
          .filteredOn(r -> r.getMessage().startsWith("GET /busy held an event loop"))
          .hasSize(1);
    }
    assertThat(during.get()).startsWith("lull-io-");
    assertThat(after.get()).startsWith("ForkJoinPool");
    assertThat(quick.get()).startsWith("lull-io-");
  }

  /**
   * A route that says SHARED is never named as holding the loop, even when the stretch before the
   * router moved it was long (here a filter in front of the router spins 30 ms; on a loaded machine
   * the OS preempting the loop does the same): the advice would be to do what it already does.
   */
  @Test
  void aSharedRouteIsNotNamedForTheStretchBeforeItMoved() throws Exception {
    Router router =
        Router.builder()
            .route(
                "GET /heavy",
                (req, res) -> res.send("heavy"),
                RouteOptions.builder().scheduling(Scheduling.SHARED).build())
            .build();
    Handler slowFilter =
        (req, res) -> {
          long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(30);
          while (System.nanoTime() - end < 0) Thread.onSpinWait();
          router.handle(req, res);
        };
    try (LogCapture logs = LogCapture.lull();
        TestServer t = TestServer.start(slowFilter)) {
      for (int i = 0; i < 3; i++) assertThat(t.get("/heavy").body()).isEqualTo("heavy");
      assertThat(t.server.engine().loopHolds()).isZero();
      assertThat(logs.all()).noneMatch(r -> r.getMessage().contains("held an event loop"));
    }
  }

  /**
   * Virtual threads a handler starts inherit its scheduler (the JDK's rule) but are not the
   * handler's thread: they run on the shared scheduler, and the handler and a child handing a token
   * back and forth 1,000 times both keep running (each on its own scheduler).
   */
  @Test
  void threadsAHandlerStartsRunOnTheSharedScheduler() throws Exception {
    AtomicReference<String> child = new AtomicReference<>();
    AtomicReference<String> handler = new AtomicReference<>();
    try (TestServer t =
        TestServer.start(
            (req, res) -> {
              handler.set(carrier()); // its first stretch (a later one may move: see below)
              java.util.concurrent.SynchronousQueue<Integer> ping =
                  new java.util.concurrent.SynchronousQueue<>();
              java.util.concurrent.SynchronousQueue<Integer> pong =
                  new java.util.concurrent.SynchronousQueue<>();
              Thread c =
                  Thread.ofVirtual()
                      .start(
                          () -> {
                            child.set(carrier());
                            try {
                              for (int i = 0; i < 1000; i++) pong.put(ping.take() + 1);
                            } catch (InterruptedException e) {
                              Thread.currentThread().interrupt();
                            }
                          });
              int n = 0;
              for (int i = 0; i < 1000; i++) {
                ping.put(n);
                n = pong.take();
              }
              c.join();
              res.send(Integer.toString(n));
            })) {
      assertThat(t.get("/").body()).isEqualTo("1000");
    }
    assertThat(child.get()).startsWith("ForkJoinPool");
    assertThat(handler.get()).startsWith("lull-io-");
  }

  /**
   * A handler parked when the kill timeout passes and the event loops shut down still runs to its
   * end when it wakes: its next stretch goes to the shared scheduler instead of a dead loop.
   */
  @Test
  void aHandlerParkedWhenTheEventLoopsShutDownStillFinishes() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch finished = new CountDownLatch(1);
    AtomicReference<String> wokeOn = new AtomicReference<>();
    Server server =
        Server.builder()
            .listen("127.0.0.1:0")
            .ioThreads(1)
            .interruptOnCancel(false)
            .stopTimeout(Duration.ofMillis(100))
            .killTimeout(Duration.ofMillis(100))
            .handler(
                (req, res) -> {
                  started.countDown();
                  try {
                    // A handler that ignores interrupts (close() interrupts it).
                    boolean released = false;
                    while (!released) {
                      try {
                        released = release.await(10, TimeUnit.SECONDS);
                      } catch (InterruptedException e) {
                        // keep waiting
                      }
                    }
                    wokeOn.set(carrier());
                  } catch (Throwable e) {
                    wokeOn.set("failed: " + e);
                  } finally {
                    finished.countDown();
                  }
                })
            .build()
            .start();
    int port = server.listeners().get(0).port();
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
      s.getOutputStream().write("GET / HTTP/1.1\r\nHost: t\r\n\r\n".getBytes());
      assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
      server.close(); // returns when the event loops have terminated
      release.countDown();
      assertThat(finished.await(10, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(wokeOn.get()).startsWith("ForkJoinPool");
  }

  /** Without {@code --add-opens java.base/java.lang}, handlers run on ordinary virtual threads. */
  @Test
  void withoutTheOpensHandlersRunOnTheSharedScheduler() throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process p =
        new ProcessBuilder(
                List.of(
                    java,
                    "--enable-native-access=ALL-UNNAMED",
                    "-cp",
                    System.getProperty("java.class.path"),
                    SchedulingProbe.class.getName()))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.PIPE)
            .start();
    try {
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("probe exits").isTrue();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.exitValue()).as(out).isZero();
      assertThat(out)
          .contains("status 200")
          .contains("carrier ForkJoinPool")
          .contains("needs --add-opens java.base/java.lang=ALL-UNNAMED");
    } finally {
      p.destroyForcibly();
    }
  }
}
