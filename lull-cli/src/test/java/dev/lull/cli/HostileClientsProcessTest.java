package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile clients against {@code lull demo} in a child process (issue #8, item 2): slowloris, slow
 * bodies, slow readers, a connection flood, and 10,000 idle keep-alive connections, each while a
 * few well-behaved keep-alive clients do {@code GET /}. For each: the attack is cut or contained as
 * designed, the well-behaved clients' p99 stays within {@code 2 x unloaded p99 + SLACK} (measured
 * in the same test, just before), and the server's resident memory (VmRSS of the child) stays under
 * {@link #RSS_CEILING_KB}. With 10,000 idle connections open, a SIGTERM and an idle exit still
 * complete within their timeouts. Figures are printed (docs/RELIABILITY.md, "Hostile clients").
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileClientsProcessTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Duration READ_HEADER_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration READ_BODY_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

  /**
   * Added to twice the unloaded p99. The machine is shared (two cores, other builds running), so a
   * p99 of a few hundred requests moves by tens of milliseconds for reasons that are not the
   * server's; 100ms absorbs that. The failures this test exists for are far larger: an event loop
   * blocked by a slow client, a handler pool exhausted, an accept queue full of a flood, show up as
   * whole seconds (the read-header timeout here is 2s, a SYN retry 1s).
   */
  private static final long SLACK_MICROS = 100_000;

  /**
   * The child runs with -Xmx96m; resident memory adds the JIT, metaspace, thread stacks and Netty's
   * direct buffers to the heap. Buffering what slow readers do not read, or state per idle
   * connection beyond a few KiB, would go far past this.
   */
  private static final long RSS_CEILING_KB = 400 * 1024;

  private static final int WELL_BEHAVED = 4;
  private static final int REQUESTS_EACH = 200;

  @TempDir static Path dir;
  private Process server;
  private DemoProcess.Output output;
  private int port;
  private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);
  private final List<String> figures = new ArrayList<>();

  @BeforeAll
  void startServer() throws Exception {
    server = startDemo("--idle-timeout", "0");
    port = awaitPort(output);
    wellBehavedP99(port); // warm-up: the first requests of a JVM are slow for JIT reasons
  }

  @AfterAll
  void stopServer() {
    scheduler.shutdownNow();
    if (server != null) server.destroyForcibly();
    System.out.println("HostileClientsProcessTest figures:");
    figures.forEach(f -> System.out.println("  " + f));
  }

  private Process startDemo(String... extra) throws IOException {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--listen",
                "127.0.0.1:0",
                "--read-header-timeout",
                ms(READ_HEADER_TIMEOUT),
                "--read-body-timeout",
                ms(READ_BODY_TIMEOUT),
                "--stop-timeout",
                ms(STOP_TIMEOUT),
                "--keep-alive-timeout",
                "5m",
                "--io-threads",
                "2",
                "--jobs-dir",
                dir.resolve("jobs-" + System.nanoTime()).toString()));
    args.addAll(List.of(extra));
    Process p =
        new ProcessBuilder(DemoProcess.command(List.of("-Xmx96m"), args.toArray(String[]::new)))
            .redirectErrorStream(true)
            .start();
    output = new DemoProcess.Output(p.getInputStream());
    return p;
  }

  private static String ms(Duration d) {
    return d.toMillis() + "ms";
  }

  private static final Pattern LISTENING =
      Pattern.compile("listening: .* on 127\\.0\\.0\\.1:(\\d+)");

  private static int awaitPort(DemoProcess.Output out) throws Exception {
    out.await("listening: ", 1, WAIT);
    for (String line : out.lines()) {
      Matcher m = LISTENING.matcher(line);
      if (m.find()) return Integer.parseInt(m.group(1));
    }
    throw new AssertionError("no port in " + out.lines());
  }

  // ------------------------------------------------------------------ measuring

  /** VmRSS of {@code pid} in KiB. */
  private static long rssKb(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }
    throw new IOException("no VmRSS for " + pid);
  }

  /** User + system CPU time of {@code pid}, in clock ticks (/proc/PID/stat fields 14 and 15). */
  private static long cpuTicks(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /**
   * Waits until the server has settled: under 10% of a core used over 300ms. Nothing signals that
   * from another process, so this polls /proc, bounded by {@link #WAIT}.
   */
  private void awaitServerQuiet() throws IOException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    long before = cpuTicks(server.pid());
    while (true) {
      CompletableFuture.runAsync(
              () -> {}, CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS))
          .join();
      long now = cpuTicks(server.pid());
      if (now - before <= 3) return; // 3 ticks of 10ms in 300ms
      before = now;
      assertThat(System.nanoTime() - deadline).as("server quiet within " + WAIT).isNegative();
    }
  }

  private static int openFds(long pid) throws IOException {
    try (var s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return (int) s.count();
    }
  }

  /** Samples the server's RSS every 100ms until closed; {@link #max} is the highest seen. */
  private final class RssSampler implements AutoCloseable {
    final AtomicLong max = new AtomicLong();
    private final ScheduledFuture<?> task;

    RssSampler() {
      sample();
      task = scheduler.scheduleAtFixedRate(this::sample, 100, 100, TimeUnit.MILLISECONDS);
    }

    private void sample() {
      try {
        long kb = rssKb(server.pid());
        max.accumulateAndGet(kb, Math::max);
      } catch (IOException e) {
        // exited
      }
    }

    @Override
    public void close() {
      task.cancel(false);
      sample();
    }
  }

  /**
   * {@link #WELL_BEHAVED} keep-alive connections, each doing {@link #REQUESTS_EACH} {@code GET /}
   * one after another; returns the p99 latency in microseconds. Fails if any request fails.
   */
  private long wellBehavedP99(int port) throws Exception {
    List<CompletableFuture<long[]>> runs = new ArrayList<>();
    for (int c = 0; c < WELL_BEHAVED; c++) {
      runs.add(
          CompletableFuture.supplyAsync(
              () -> {
                long[] micros = new long[REQUESTS_EACH];
                try (HttpConn conn = HttpConn.tcp(port)) {
                  for (int i = 0; i < REQUESTS_EACH; i++) {
                    long t0 = System.nanoTime();
                    HttpConn.Response r = conn.get("/").read();
                    micros[i] = (System.nanoTime() - t0) / 1000;
                    if (r.status() != 200) throw new AssertionError("status " + r.status());
                  }
                } catch (IOException e) {
                  throw new AssertionError("well-behaved client failed", e);
                }
                return micros;
              },
              r -> Thread.ofVirtual().start(r)));
    }
    long[] all = new long[0];
    for (CompletableFuture<long[]> f : runs) {
      long[] m = f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      long[] merged = Arrays.copyOf(all, all.length + m.length);
      System.arraycopy(m, 0, merged, all.length, m.length);
      all = merged;
    }
    Arrays.sort(all);
    return all[(int) Math.ceil(all.length * 0.99) - 1];
  }

  /**
   * Measures the unloaded p99, starts {@code attack}, waits until it is under way, measures the
   * loaded p99 and the RSS meanwhile, and checks both; returns the figures line.
   */
  private String underAttack(String name, Attack attack) throws Exception {
    long unloaded = wellBehavedP99(port);
    try (RssSampler rss = new RssSampler()) {
      attack.start();
      try {
        attack.awaitUnderWay();
        long loaded = wellBehavedP99(port);
        attack.afterMeasurement();
        rss.close();
        String line =
            String.format(
                "%s: p99 unloaded %.2f ms, loaded %.2f ms; max RSS %d MiB; %s",
                name, unloaded / 1000.0, loaded / 1000.0, rss.max.get() / 1024, attack.figures());
        figures.add(line);
        assertThat(loaded).as(line).isLessThanOrEqualTo(2 * unloaded + SLACK_MICROS);
        assertThat(rss.max.get()).as(line).isLessThan(RSS_CEILING_KB);
        return line;
      } finally {
        attack.stop();
      }
    }
  }

  interface Attack {
    void start() throws Exception;

    /** Returns once the attack is fully in place (every connection open and sending). */
    void awaitUnderWay() throws Exception;

    /** Checks what the server did to the attacker, after the loaded measurement. */
    default void afterMeasurement() throws Exception {}

    String figures();

    void stop() throws Exception;
  }

  // ------------------------------------------------------------------ slow clients

  /**
   * A raw connection that writes {@code bytes} one per {@code period} from the scheduler, and reads
   * (on a virtual thread) whatever the server sends until it closes; {@link #closed} completes with
   * what it sent, and the time from the first byte.
   */
  private final class Trickle {
    final Socket socket = new Socket();
    final CompletableFuture<String> closed = new CompletableFuture<>();
    volatile long firstByteAt;
    volatile long closedAt;
    private ScheduledFuture<?> task;

    Trickle(byte[] head, byte[] trickled, long periodMillis) throws IOException {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
      socket.setTcpNoDelay(true);
      OutputStream out = socket.getOutputStream();
      InputStream in = socket.getInputStream();
      Thread.ofVirtual()
          .start(
              () -> {
                try {
                  String got = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
                  closedAt = System.nanoTime();
                  closed.complete(got);
                } catch (IOException e) {
                  closedAt = System.nanoTime();
                  closed.complete("reset");
                }
              });
      firstByteAt = System.nanoTime();
      if (head.length > 0) out.write(head);
      AtomicInteger next = new AtomicInteger();
      task =
          scheduler.scheduleAtFixedRate(
              () -> {
                int i = next.getAndIncrement();
                if (i >= trickled.length || closed.isDone()) {
                  task.cancel(false);
                  return;
                }
                try {
                  out.write(trickled[i]);
                } catch (IOException e) {
                  task.cancel(false); // cut by the server
                }
              },
              head.length > 0 ? periodMillis : 0,
              periodMillis,
              TimeUnit.MILLISECONDS);
    }

    Duration lifetime() {
      return Duration.ofNanos(closedAt - firstByteAt);
    }

    void close() throws IOException {
      if (task != null) task.cancel(false);
      socket.close();
    }
  }

  /** A group of trickling connections and what they must end with. */
  private final class TrickleAttack implements Attack {
    private final int count;
    private final byte[] head;
    private final byte[] trickled;
    private final long periodMillis;
    private final String expectStatus;
    private final Duration cutWithin;
    private final List<Trickle> conns = new ArrayList<>();
    private Duration longest = Duration.ZERO;

    TrickleAttack(
        int count,
        String head,
        String trickled,
        long periodMillis,
        String expectStatus,
        Duration cutWithin) {
      this.count = count;
      this.head = head.getBytes(StandardCharsets.ISO_8859_1);
      this.trickled = trickled.getBytes(StandardCharsets.ISO_8859_1);
      this.periodMillis = periodMillis;
      this.expectStatus = expectStatus;
      this.cutWithin = cutWithin;
    }

    @Override
    public void start() throws IOException {
      for (int i = 0; i < count; i++) conns.add(new Trickle(head, trickled, periodMillis));
    }

    @Override
    public void awaitUnderWay() {}

    @Override
    public void afterMeasurement() throws Exception {
      for (Trickle t : conns) {
        String got = t.closed.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(got).as("what the server sent before the close").startsWith(expectStatus);
        if (t.lifetime().compareTo(longest) > 0) longest = t.lifetime();
      }
      assertThat(longest).as("longest connection").isLessThanOrEqualTo(cutWithin);
    }

    @Override
    public String figures() {
      return count + " connections, each cut after at most " + longest.toMillis() + " ms";
    }

    @Override
    public void stop() throws IOException {
      for (Trickle t : conns) t.close();
    }
  }

  @Test
  @Order(1)
  void slowlorisHeadsAreCutAtTheReadHeaderTimeout() throws Exception {
    // 200 heads, one byte per second: never complete, cut with 408 at READ_HEADER_TIMEOUT.
    String head = "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + "a".repeat(100) + "\r\n\r\n";
    underAttack(
        "slowloris (200 connections, 1 header byte/s)",
        new TrickleAttack(
            200,
            "",
            head,
            1000,
            "HTTP/1.1 408",
            READ_HEADER_TIMEOUT.plus(Duration.ofMillis(1500))));
  }

  @Test
  @Order(2)
  void slowBodiesAreCutWhenTheyPause() throws Exception {
    // 100 uploads to POST /jobs/csv (whose handler reads the body): 5 bytes of 1000, one per
    // 100ms, then silence; each fails with 408 once READ_BODY_TIMEOUT passes without a byte.
    underAttack(
        "slow body (100 uploads that stop sending)",
        new TrickleAttack(
            100,
            "POST /jobs/csv HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n",
            "a,b\r\n",
            100,
            "HTTP/1.1 408",
            READ_BODY_TIMEOUT.plus(Duration.ofMillis(500 + 1500))));
  }

  @Test
  @Order(3)
  void bodiesTrickledAfterTheResponseAreCutToo() throws Exception {
    // GET / does not read its body: it is answered at once, then the server drops the rest of the
    // declared body to keep the connection, for at most READ_BODY_TIMEOUT. A client trickling it
    // one byte per second (no pause long enough for a between-bytes timeout) is cut there.
    underAttack(
        "slow dropped body (100 connections, 1 body byte/s after the response)",
        new TrickleAttack(
            100,
            "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n",
            "x".repeat(60),
            1000,
            "HTTP/1.1 200",
            READ_BODY_TIMEOUT.plus(Duration.ofMillis(1500))));
  }

  // ------------------------------------------------------------------ slow readers

  @Test
  @Order(4)
  void slowReadersDoNotMakeTheServerBufferWithoutBound() throws Exception {
    // 20 connections each pipeline 100 requests for a 16 MB streamed response (16 KiB chunks as
    // fast as the server can) and never read. Unbounded buffering would be 20 x 100 x 16 MB;
    // backpressure keeps it to the socket buffers and Netty's write high-water mark.
    int conns = 20;
    String req = "GET /stream?chunks=1000&interval=0s&size=16384 HTTP/1.1\r\nHost: t\r\n\r\n";
    byte[] pipelined = req.repeat(100).getBytes(StandardCharsets.US_ASCII);
    List<Socket> sockets = new ArrayList<>();
    long baselineRss = rssKb(server.pid());
    AtomicLong afterRss = new AtomicLong();
    underAttack(
        "slow readers (20 connections x 100 pipelined 16 MB streams, never read)",
        new Attack() {
          @Override
          public void start() throws IOException {
            for (int i = 0; i < conns; i++) {
              Socket s = new Socket();
              s.setReceiveBufferSize(64 * 1024);
              s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
              s.getOutputStream().write(pipelined);
              sockets.add(s);
            }
          }

          @Override
          public void awaitUnderWay() throws Exception {
            // Every stream has started (its first bytes are here), then the server has filled
            // the socket buffers and its handlers wait for writability: it is quiet.
            for (Socket s : sockets) {
              s.setSoTimeout((int) WAIT.toMillis());
              assertThat(s.getInputStream().read()).isGreaterThanOrEqualTo(0);
            }
            awaitServerQuiet();
          }

          @Override
          public void afterMeasurement() throws IOException {
            afterRss.set(rssKb(server.pid()));
          }

          @Override
          public String figures() {
            return "RSS before " + baselineRss / 1024 + " MiB, after " + afterRss.get() / 1024;
          }

          @Override
          public void stop() throws IOException {
            for (Socket s : sockets) s.close();
          }
        });
  }

  // ------------------------------------------------------------------ connection flood

  @Test
  @Order(5)
  void aConnectionFloodLeavesNothingBehind() throws Exception {
    // 4 threads connect and close as fast as they can, 5,000 connections in all (a quarter of them
    // closed with a reset, a quarter after sending half a head), for at most 10 seconds.
    int total = 5000;
    AtomicInteger done = new AtomicInteger();
    AtomicInteger refused = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> threads = new ArrayList<>();
    int fdsBefore = openFds(server.pid());
    long[] took = new long[1];
    underAttack(
        "connection flood (5,000 connects/closes)",
        new Attack() {
          long start;

          @Override
          public void start() {
            start = System.nanoTime();
            long end = start + TimeUnit.SECONDS.toNanos(10);
            for (int t = 0; t < 4; t++) {
              threads.add(
                  Thread.ofPlatform()
                      .start(
                          () -> {
                            while (!stop.get() && System.nanoTime() - end < 0) {
                              int i = done.getAndIncrement();
                              if (i >= total) return;
                              try (Socket s = new Socket()) {
                                s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
                                if (i % 4 == 1) s.setSoLinger(true, 0); // reset
                                if (i % 4 == 2) {
                                  s.getOutputStream()
                                      .write(
                                          "GET / HTTP/1.1\r\nHo"
                                              .getBytes(StandardCharsets.US_ASCII));
                                }
                              } catch (IOException e) {
                                refused.incrementAndGet();
                              }
                            }
                          }));
            }
          }

          @Override
          public void awaitUnderWay() {}

          @Override
          public void afterMeasurement() throws Exception {
            for (Thread t : threads) t.join(WAIT.toMillis());
            took[0] = (System.nanoTime() - start) / 1_000_000;
            assertThat(refused.get()).as("connections refused").isZero();
            // Every flood connection is closed by the server: its fds come back. Nothing signals
            // that from another process: poll /proc, bounded.
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (openFds(server.pid()) > fdsBefore + 5) {
              assertThat(System.nanoTime() - deadline).as("fds back to before").isNegative();
              CompletableFuture.runAsync(
                      () -> {}, CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS))
                  .join();
            }
          }

          @Override
          public String figures() {
            return Math.min(done.get(), total)
                + " connections in "
                + took[0]
                + " ms, fds before "
                + fdsBefore;
          }

          @Override
          public void stop() {
            stop.set(true);
          }
        });
  }

  // ------------------------------------------------------------------ 10,000 idle connections

  /**
   * Opens {@code n} connections with NIO, in batches, each doing one keep-alive {@code GET /} and
   * reading its whole response; returns them open and idle.
   */
  static List<SocketChannel> openIdle(int port, int n) throws IOException {
    List<SocketChannel> open = new ArrayList<>(n);
    byte[] req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    try (Selector sel = Selector.open()) {
      int batch = 500; // below the listen backlog (1024): no SYN is dropped and retried
      for (int from = 0; from < n; from += batch) {
        int size = Math.min(batch, n - from);
        int pending = size;
        for (int i = 0; i < size; i++) {
          SocketChannel ch = SocketChannel.open();
          ch.configureBlocking(false);
          ch.connect(new InetSocketAddress("127.0.0.1", port));
          ch.register(sel, SelectionKey.OP_CONNECT, ByteBuffer.allocate(512));
          open.add(ch);
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (pending > 0) {
          if (System.nanoTime() - deadline > 0) {
            throw new AssertionError(pending + " idle connections not answered in " + WAIT);
          }
          sel.select(1000);
          for (SelectionKey k : sel.selectedKeys()) {
            SocketChannel ch = (SocketChannel) k.channel();
            if (k.isConnectable()) {
              ch.finishConnect();
              ch.write(ByteBuffer.wrap(req)); // 27 bytes: always fits the socket buffer
              k.interestOps(SelectionKey.OP_READ);
            } else if (k.isReadable()) {
              ByteBuffer buf = (ByteBuffer) k.attachment();
              if (ch.read(buf) < 0) throw new AssertionError("closed before its response");
              if (responseComplete(buf)) {
                k.cancel();
                pending--;
              }
            }
          }
          sel.selectedKeys().clear();
        }
        sel.selectNow(); // deregisters the cancelled keys
      }
    }
    for (SocketChannel ch : open) ch.configureBlocking(true);
    return open;
  }

  private static boolean responseComplete(ByteBuffer buf) {
    String s = new String(buf.array(), 0, buf.position(), StandardCharsets.ISO_8859_1);
    int end = s.indexOf("\r\n\r\n");
    if (end < 0) return false;
    Matcher m = Pattern.compile("(?i)content-length: *(\\d+)").matcher(s.substring(0, end));
    if (!m.find()) throw new AssertionError("no Content-Length in " + s);
    if (!s.startsWith("HTTP/1.1 200")) throw new AssertionError("not a 200: " + s);
    return s.length() >= end + 4 + Integer.parseInt(m.group(1));
  }

  private static void closeAll(List<SocketChannel> chs) {
    for (SocketChannel ch : chs) {
      try {
        ch.close();
      } catch (IOException e) {
        // closing
      }
    }
  }

  /** Waits until every channel in {@code chs} has been closed by the server. */
  private static void awaitAllClosedByServer(List<SocketChannel> chs, Duration within)
      throws IOException {
    long deadline = System.nanoTime() + within.toNanos();
    ByteBuffer one = ByteBuffer.allocate(1);
    for (SocketChannel ch : chs) {
      long left = deadline - System.nanoTime();
      assertThat(left).as("all idle connections closed within " + within).isPositive();
      ch.socket().setSoTimeout((int) Math.max(1, left / 1_000_000));
      try {
        one.clear();
        InputStream in = ch.socket().getInputStream();
        assertThat(in.read()).as("end of stream").isEqualTo(-1);
      } catch (SocketTimeoutException e) {
        throw new AssertionError("an idle connection still open after " + within);
      } catch (SocketException e) {
        // reset: closed as well
      }
    }
  }

  @Test
  @Order(6)
  void tenThousandIdleConnectionsThenSigtermStopsWithinTheStopTimeout() throws Exception {
    int n = 10_000;
    List<SocketChannel> idle = new ArrayList<>();
    int fdsBefore = openFds(server.pid());
    long[] openMillis = new long[1];
    long[] rssOpen = new long[1];
    try {
      underAttack(
          "10,000 idle keep-alive connections",
          new Attack() {
            @Override
            public void start() throws IOException {
              long t0 = System.nanoTime();
              idle.addAll(openIdle(port, n));
              openMillis[0] = (System.nanoTime() - t0) / 1_000_000;
            }

            @Override
            public void awaitUnderWay() throws IOException {
              assertThat(openFds(server.pid())).isGreaterThanOrEqualTo(n);
              rssOpen[0] = rssKb(server.pid());
            }

            @Override
            public String figures() {
              return "opened in "
                  + openMillis[0]
                  + " ms; RSS with them open "
                  + rssOpen[0] / 1024
                  + " MiB";
            }

            @Override
            public void stop() {}
          });
      long t0 = System.nanoTime();
      server.destroy(); // SIGTERM
      assertThat(server.waitFor(STOP_TIMEOUT.toSeconds() + 10, TimeUnit.SECONDS))
          .as("exited; output: %s", output.lines())
          .isTrue();
      long stopMillis = (System.nanoTime() - t0) / 1_000_000;
      assertThat(server.exitValue()).isZero();
      assertThat(stopMillis).as("stop took").isLessThan(STOP_TIMEOUT.toMillis());
      // Graceful: had lame duck not closed the idle connections, the drain would have waited the
      // whole stop timeout before force-closing them; it ended well before.
      awaitAllClosedByServer(idle, Duration.ofSeconds(5));
      figures.add(
          "SIGTERM with 10,000 idle connections: exit 0 after "
              + stopMillis
              + " ms (stop timeout "
              + STOP_TIMEOUT.toSeconds()
              + " s), all closed by the server");
    } finally {
      closeAll(idle);
    }
  }

  @Test
  @Order(7)
  void tenThousandIdleConnectionsDoNotKeepTheServerFromExitingIdle() throws Exception {
    Process p = startDemo("--idle-timeout", "3s");
    List<SocketChannel> idle = new ArrayList<>();
    try {
      int port = awaitPort(output);
      long t0 = System.nanoTime();
      idle.addAll(openIdle(port, 10_000));
      long lastResponse = System.nanoTime();
      long openMillis = (lastResponse - t0) / 1_000_000;
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("exited; output: %s", output.lines()).isTrue();
      long exitMillis = (System.nanoTime() - lastResponse) / 1_000_000;
      assertThat(p.exitValue()).isZero();
      assertThat(output.await("RUNNING -> DRAINING (idle)", 1, WAIT)).isTrue();
      // The countdown starts after the last response: 3s, plus the drain (lame duck closes the
      // idle connections after its 500ms grace) and the release.
      assertThat(exitMillis).isBetween(2900L, 3000L + 5000L);
      awaitAllClosedByServer(idle, Duration.ofSeconds(5));
      figures.add(
          "idle exit with 10,000 idle connections (opened in "
              + openMillis
              + " ms): exit 0 after "
              + exitMillis
              + " ms (idle timeout 3 s)");
    } finally {
      closeAll(idle);
      p.destroyForcibly();
    }
  }
}
