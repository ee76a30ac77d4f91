package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.cli.RawServer.Action;
import dev.lull.server.Handler;
import dev.lull.server.Router;
import dev.lull.server.Server;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code lull load} end to end: real sockets, the command line, its JSON summary. */
class LoadCommandTest {
  private static final Object STDIO = new Object();

  /** One run of {@code lull load}: its exit code, stdout and stderr. */
  record Run(int exit, String out, String err) {
    /** A number from the JSON summary; every key used here is unique in it. */
    double number(String key) {
      Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\":(-?[0-9.]+)").matcher(out);
      assertThat(m.find()).as("\"%s\" in %s", key, out).isTrue();
      return Double.parseDouble(m.group(1));
    }

    long count(String key) {
      return (long) number(key);
    }
  }

  static Run load(String... args) {
    String[] argv = Stream.concat(Stream.of("load"), Stream.of(args)).toArray(String[]::new);
    synchronized (STDIO) {
      PrintStream oldOut = System.out;
      PrintStream oldErr = System.err;
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int exit;
      try {
        exit = Main.run(argv);
      } finally {
        System.setOut(oldOut);
        System.setErr(oldErr);
      }
      Run run =
          new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
      // Netty's paranoid leak detector (see the surefire argLine) logs through the captured stderr.
      assertThat(run.err()).doesNotContain("LEAK:");
      return run;
    }
  }

  static Server serve(Handler handler) {
    return Server.builder().listen("127.0.0.1:0").handler(handler).ioThreads(1).build().start();
  }

  static String url(Server server, String path) {
    return "http://127.0.0.1:" + server.listeners().get(0).port() + path;
  }

  @Test
  void twentyThousandRequestsOverEightConnectionsOpenEightConnections() {
    Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();
    AtomicInteger served = new AtomicInteger();
    try (Server server =
        serve(
            (req, res) -> {
              clientPorts.add(((InetSocketAddress) req.remoteAddress()).getPort());
              served.incrementAndGet();
              res.send("ok\n");
            })) {
      Run run = load("--requests", "20000", "--connections", "8", "--json", url(server, "/"));

      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(run.count("total")).isEqualTo(20000);
      assertThat(run.count("ok")).isEqualTo(20000);
      assertThat(run.count("failed")).isZero();
      assertThat(run.count("connections_opened")).isEqualTo(8);
      assertThat(run.count("reconnects")).isZero();
      assertThat(run.count("max_open")).isEqualTo(8);
      assertThat(run.count("retried")).isZero();
      assertThat(run.count("200")).isEqualTo(20000);
      assertThat(run.count("count")).isEqualTo(20000); // latencies recorded
      assertThat(served.get()).isEqualTo(20000);
      assertThat(clientPorts).hasSize(8);
    }
  }

  @Test
  void connectionCloseEveryTenthResponseReconnectsWithoutFailures() {
    Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();
    AtomicInteger n = new AtomicInteger();
    try (Server server =
        serve(
            (req, res) -> {
              clientPorts.add(((InetSocketAddress) req.remoteAddress()).getPort());
              if (n.incrementAndGet() % 10 == 0) res.header("Connection", "close");
              res.send("ok\n");
            })) {
      Run run = load("--requests", "1000", "--connections", "4", "--json", url(server, "/"));

      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(run.count("ok")).isEqualTo(1000);
      assertThat(run.count("failed")).isZero();
      assertThat(run.count("retried")).isZero();
      // 100 responses said close; each is followed by a new connection unless it was the last
      // response of its connection slot (at most one per slot).
      long reconnects = run.count("reconnects");
      assertThat(reconnects).isBetween(96L, 100L);
      assertThat(run.count("connections_opened")).isEqualTo(4 + reconnects);
      assertThat(run.count("max_open")).isEqualTo(4); // a new connection only once the old closed
      assertThat(clientPorts).hasSize((int) (4 + reconnects));
    }
  }

  @Test
  void idempotentRequestFailingOnReusedConnectionBeforeAnyByteIsRetriedOnce() throws IOException {
    // Answers the first request of each connection; reads the next one and closes without a word:
    // the server's side of the keep-alive race.
    try (RawServer server =
        new RawServer((onConn, overall, m) -> onConn == 0 ? Action.ANSWER : Action.CLOSE)) {
      Run run =
          load(
              "--requests",
              "2",
              "--connections",
              "1",
              "--json",
              "http://127.0.0.1:" + server.port() + "/");

      assertThat(run.exit()).as(run.out() + run.err()).isZero();
      assertThat(run.count("total")).isEqualTo(2);
      assertThat(run.count("ok")).isEqualTo(2);
      assertThat(run.count("retried")).isEqualTo(1);
      assertThat(run.count("connections_opened")).isEqualTo(2);
      assertThat(run.count("max_open")).isEqualTo(1);
      assertThat(server.accepted()).isEqualTo(2);
      assertThat(server.requests()).isEqualTo(3); // the closed one, then its retry
    }
  }

  @Test
  void postFailingOnReusedConnectionIsAFailureAndNotRetried() throws IOException {
    try (RawServer server =
        new RawServer((onConn, overall, m) -> onConn == 0 ? Action.ANSWER : Action.CLOSE)) {
      Run run =
          load(
              "--requests",
              "2",
              "--connections",
              "1",
              "--method",
              "POST",
              "--body",
              "x=1",
              "--json",
              "http://127.0.0.1:" + server.port() + "/");

      assertThat(run.exit()).isEqualTo(1);
      assertThat(run.count("total")).isEqualTo(2);
      assertThat(run.count("ok")).isEqualTo(1);
      assertThat(run.count("failed")).isEqualTo(1);
      assertThat(run.count("closed")).isEqualTo(1);
      assertThat(run.count("retried")).isZero();
      assertThat(server.accepted()).isEqualTo(1);
      assertThat(server.requests()).isEqualTo(2);
    }
  }

  @Test
  void aRetryThatFailsAgainIsAFailureNotASecondRetry() throws IOException {
    // Only the very first request is answered; the retry on a fresh connection is closed too.
    try (RawServer server =
        new RawServer((onConn, overall, m) -> overall == 0 ? Action.ANSWER : Action.CLOSE)) {
      Run run =
          load(
              "--requests",
              "2",
              "--connections",
              "1",
              "--json",
              "http://127.0.0.1:" + server.port() + "/");

      assertThat(run.exit()).isEqualTo(1);
      assertThat(run.count("ok")).isEqualTo(1);
      assertThat(run.count("retried")).isEqualTo(1);
      assertThat(run.count("closed")).isEqualTo(1);
      assertThat(server.requests()).isEqualTo(3);
    }
  }

  @Test
  void failureOnAFreshConnectionIsNotRetried() throws IOException {
    try (RawServer server = new RawServer((onConn, overall, m) -> Action.RESET)) {
      Run run =
          load(
              "--requests",
              "3",
              "--connections",
              "1",
              "--json",
              "http://127.0.0.1:" + server.port() + "/");

      assertThat(run.exit()).isEqualTo(1);
      assertThat(run.count("failed")).isEqualTo(3);
      assertThat(run.count("reset")).isEqualTo(3);
      assertThat(run.count("retried")).isZero();
      assertThat(run.count("connections_opened")).isEqualTo(3);
    }
  }

  @Test
  void nothingListeningCountsRefused() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Run run =
        load("--requests", "5", "--connections", "2", "--json", "http://127.0.0.1:" + port + "/");

    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.count("total")).isEqualTo(5);
    assertThat(run.count("refused")).isEqualTo(5);
    assertThat(run.count("connections_opened")).isZero();
    assertThat(run.out()).contains("\"latency_ms\":{\"count\":0,");
  }

  @Test
  void nonSuccessStatusesAreFailuresCountedByStatus() {
    try (Server server =
        serve(Router.builder().get("/", (req, res) -> res.send(503, "busy\n")).build())) {
      Run ok = load("--requests", "50", "--connections", "2", "--json", url(server, "/nowhere"));
      Run busy = load("--requests", "50", "--connections", "2", "--json", url(server, "/"));

      assertThat(ok.exit()).isEqualTo(1);
      assertThat(ok.count("status")).isEqualTo(50);
      assertThat(ok.count("404")).isEqualTo(50);
      assertThat(busy.exit()).isEqualTo(1);
      assertThat(busy.count("ok")).isZero();
      assertThat(busy.count("status")).isEqualTo(50);
      assertThat(busy.count("503")).isEqualTo(50);
      assertThat(busy.count("connections_opened")).isEqualTo(2);
    }
  }

  @Test
  void aServerThatDoesNotAnswerCountsTimeouts() {
    CountDownLatch never = new CountDownLatch(1);
    try (Server server = serve((req, res) -> never.await())) {
      Run run =
          load(
              "--requests",
              "2",
              "--connections",
              "2",
              "--timeout",
              "300ms",
              "--json",
              url(server, "/"));

      assertThat(run.exit()).isEqualTo(1);
      assertThat(run.count("timeout")).isEqualTo(2);
      assertThat(run.count("retried")).isZero();
    } finally {
      never.countDown();
    }
  }

  @Test
  void unixSocketTarget(@TempDir Path dir) {
    Path socket = dir.resolve("lull.sock");
    List<String> paths = new ArrayList<>();
    try (Server server =
        Server.builder()
            .listen("unix:" + socket)
            .handler(
                (req, res) -> {
                  synchronized (paths) {
                    paths.add(req.path() + "?" + req.rawQuery());
                  }
                  res.send("ok\n");
                })
            .build()
            .start()) {
      Run run =
          load(
              "--requests",
              "10",
              "--connections",
              "2",
              "--path",
              "/status?x=1",
              "--json",
              "unix:" + socket);

      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(run.count("ok")).isEqualTo(10);
      assertThat(run.count("connections_opened")).isEqualTo(2);
      assertThat(paths).hasSize(10).containsOnly("/status?x=1");
      assertThat(server.listeners().get(0).port()).isEqualTo(-1); // a Unix socket indeed
    }
  }

  @Test
  void rateModeSendsTheScheduledRequestsSpreadOverTheDuration() {
    ConcurrentLinkedQueue<Long> arrivals = new ConcurrentLinkedQueue<>();
    try (Server server =
        serve(
            (req, res) -> {
              arrivals.add(System.nanoTime());
              res.send("ok\n");
            })) {
      Run run =
          load(
              "--rate",
              "100",
              "--duration",
              "2s",
              "--connections",
              "4",
              "--progress",
              "--json",
              url(server, "/"));

      assertThat(run.exit()).as(run.err()).isZero();
      // 100/s for 2 s: requests fall due at 0, 10 ms, ... 1990 ms; each is sent, or missed if the
      // run ended while it waited for a connection (possible on a very loaded machine).
      assertThat(run.count("total") + run.count("missed")).isEqualTo(200);
      assertThat(run.count("total")).isGreaterThanOrEqualTo(180);
      assertThat(run.count("failed")).isZero();
      assertThat(run.count("connections_opened")).isLessThanOrEqualTo(4);
      assertThat(run.number("elapsed_seconds")).isGreaterThanOrEqualTo(1.99);
      // Not sent in a burst: the requests due late in the run reached the server late.
      long first = arrivals.stream().mapToLong(Long::longValue).min().orElseThrow();
      long last = arrivals.stream().mapToLong(Long::longValue).max().orElseThrow();
      assertThat(Duration.ofNanos(last - first)).isGreaterThan(Duration.ofMillis(1800));
      assertThat(run.err()).contains("lull load: 1s");
    }
  }

  @Test
  void rateModeCountsLateAndMissedAndMeasuresFromTheIntendedTime() {
    try (Server server =
        serve(
            (req, res) -> {
              // The server under test is slow: 100 ms of work per request.
              Thread.sleep(Duration.ofMillis(100));
              res.send("ok\n");
            })) {
      Run run =
          load(
              "--rate", "50", "--duration", "1s", "--connections", "1", "--json", url(server, "/"));

      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(run.count("total") + run.count("missed")).isEqualTo(50);
      assertThat(run.count("total")).isLessThan(20);
      assertThat(run.count("missed")).isGreaterThan(30);
      assertThat(run.count("late")).isGreaterThan(30);
      // The 5th request fell due at 80 ms and could not start before about 400 ms: its latency
      // counts the wait, not just the 100 ms the server took.
      assertThat(run.number("max")).isGreaterThan(300);
    }
  }

  @Test
  void durationAndRequestsWhicheverComesFirst() {
    try (Server server = serve((req, res) -> res.send("ok\n"))) {
      Run run =
          load(
              "--duration",
              "300ms",
              "--requests",
              "100000000",
              "--connections",
              "2",
              "--json",
              url(server, "/"));

      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(run.count("total")).isPositive().isLessThan(100_000_000);
      assertThat(run.number("elapsed_seconds")).isGreaterThanOrEqualTo(0.3);
    }
  }

  @Test
  void headResponsesHaveNoBodyWhateverTheirContentLength() {
    try (Server server = serve((req, res) -> res.send("a body HEAD does not get\n"))) {
      Run run = load("-m", "HEAD", "-n", "50", "-c", "1", "-t", "5s", "--json", url(server, "/"));

      assertThat(run.exit()).as(run.out()).isZero();
      assertThat(run.count("ok")).isEqualTo(50);
      assertThat(run.count("connections_opened")).isEqualTo(1);
    }
  }

  @Test
  void textSummaryOnStdout() {
    try (Server server = serve((req, res) -> res.send("ok\n"))) {
      Run run = load("-n", "20", "-c", "2", url(server, "/"));

      assertThat(run.exit()).isZero();
      assertThat(run.out())
          .contains("requests     20 sent: 20 ok, 0 failed, 0 retried")
          .contains("connections  2 opened, 0 reconnects, at most 2 open")
          .contains("latency      p50 ")
          .contains("p99.9 ");
    }
  }

  static Stream<List<String>> badUsage() {
    return Stream.of(
        List.of("--connections", "0", "--requests", "1", "http://127.0.0.1:1/", "--connections"),
        List.of("--rate", "-5", "--requests", "1", "http://127.0.0.1:1/", "--rate"),
        List.of("--duration", "5x", "http://127.0.0.1:1/", "--duration"),
        List.of("--timeout", "0", "--requests", "1", "http://127.0.0.1:1/", "--timeout"),
        List.of("--requests", "0", "http://127.0.0.1:1/", "--requests"),
        List.of("http://127.0.0.1:1/", "--duration or --requests"),
        List.of("--requests", "1", "ftp://127.0.0.1/", "ftp://127.0.0.1/"),
        List.of("--requests", "1", "-H", "nocolon", "http://127.0.0.1:1/", "nocolon"),
        List.of("--requests", "1", "--method", "G T", "http://127.0.0.1:1/", "G T"),
        List.of("--requests", "1", "--path", "/x", "http://127.0.0.1:1/", "--path"),
        List.of("--requests", "1", "-m", "connect", "http://127.0.0.1:1/", "CONNECT"),
        List.of("--requests", "1", "--threads", "3", "-c", "2", "http://127.0.0.1:1/", "--threads"),
        List.of("--connections", "many", "--requests", "1", "http://127.0.0.1:1/", "many"),
        List.of(
            "--requests",
            "1",
            "--body-file",
            "/nonexistent/b",
            "http://127.0.0.1:1/",
            "/nonexistent/b"));
  }

  @ParameterizedTest
  @MethodSource("badUsage")
  void badUsageExitsTwoWithOneLineNamingTheOption(List<String> argsThenExpected) {
    List<String> args = argsThenExpected.subList(0, argsThenExpected.size() - 1);
    String expected = argsThenExpected.get(argsThenExpected.size() - 1);

    Run run = load(args.toArray(String[]::new));

    assertThat(run.exit()).isEqualTo(Main.EXIT_USAGE);
    assertThat(run.out()).isEmpty();
    assertThat(run.err().strip().lines())
        .hasSize(1)
        .first()
        .asString()
        .startsWith("lull: ")
        .contains(expected);
  }

  @Test
  void bodyFromAFile(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("body.json");
    Files.writeString(file, "{\"a\":1}");
    List<String> bodies = new ArrayList<>();
    try (Server server =
        serve(
            Router.builder()
                .post(
                    "/echo",
                    (req, res) -> {
                      String b = new String(req.body().readAllBytes(), StandardCharsets.UTF_8);
                      synchronized (bodies) {
                        bodies.add(req.header("X-Test").orElse("") + " " + b);
                      }
                      res.send("ok\n");
                    })
                .build())) {
      Run run =
          load(
              "-n",
              "3",
              "-c",
              "1",
              "-m",
              "post",
              "-H",
              "X-Test: yes",
              "--body-file",
              file.toString(),
              "--json",
              url(server, "/echo"));

      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(bodies).containsExactly("yes {\"a\":1}", "yes {\"a\":1}", "yes {\"a\":1}");
    }
  }
}
