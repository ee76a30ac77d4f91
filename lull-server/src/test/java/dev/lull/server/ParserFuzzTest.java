package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A time-bounded random fuzz run of the request path over real sockets (issue #8, item 3): valid
 * requests mutated by byte flips, insertions, deletions, truncations and duplicated header lines,
 * each on its own connection to a server with short timeouts. Every case must end with the server
 * closing the connection within a deadline (a response, or a timeout's close: nothing hangs), no
 * response may be a 5xx (but 505 for an unsupported version), Lull must log no connection error,
 * and Netty's leak detector (paranoid in tests; {@link NettyLeakCheck}) must find no leaked buffer.
 * The server still serves afterwards.
 *
 * <p>The seed is printed; rerun one with {@code -Dlull.fuzz.seed=N}. {@code -Dlull.fuzz.millis}
 * sets the run time (default 5000).
 */
class ParserFuzzTest {
  private static final Duration HEADER_TIMEOUT = Duration.ofMillis(300);
  private static final Duration BODY_TIMEOUT = Duration.ofMillis(300);
  private static final Duration KEEP_ALIVE = Duration.ofMillis(100);

  /**
   * Longest a case may stay open: a head timeout then a body timeout (a pipelined request after a
   * slow one), a keep-alive timeout, the 1s linger of a close, and slack for a shared machine.
   */
  private static final Duration CASE_DEADLINE = Duration.ofSeconds(6);

  private static final String[] SEEDS = {
    "GET / HTTP/1.1\r\nHost: t\r\n\r\n",
    "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nX-A: v\r\n\r\n",
    "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n3\r\nabc\r\n"
        + "0\r\nX-T: t\r\n\r\n",
    "HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "GET / HTTP/1.0\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n",
    "GET http://t/x HTTP/1.1\r\nHost: t\r\n\r\n",
    "PUT /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok"
        + "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n",
  };

  private static final String[] TOKENS = {
    "\r\n",
    "\n",
    "\r",
    " ",
    "\t",
    "\0",
    ":",
    ",",
    ";",
    "\r\n ",
    "\r\n\r\n",
    "Transfer-Encoding: chunked\r\n",
    "Content-Length: 7\r\n",
    "Content-Length: -1\r\n",
    "Host: x\r\n",
    "0\r\n\r\n",
    "ffffffffffffffff",
    "%",
    "HTTP/1.1",
    "\u00ff",
    "\u007f"
  };

  @Test
  void mutatedRequestsNeverHangCrashOrGet5xx() throws Exception {
    long seed = Long.getLong("lull.fuzz.seed", System.nanoTime());
    long millis = Long.getLong("lull.fuzz.millis", 5000);
    System.out.println("ParserFuzzTest seed " + seed + " (-Dlull.fuzz.seed=" + seed + ")");
    Handler h =
        (req, res) -> {
          byte[] body = req.body().readAllBytes();
          res.send("read " + body.length);
        };
    AtomicInteger cases = new AtomicInteger();
    AtomicInteger closedWithResponse = new AtomicInteger();
    AtomicLong responses = new AtomicLong();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    try (LogCapture logs = LogCapture.lull();
        TestServer server =
            TestServer.start(
                h,
                b ->
                    b.readHeaderTimeout(HEADER_TIMEOUT)
                        .readBodyTimeout(BODY_TIMEOUT)
                        .keepAliveTimeout(KEEP_ALIVE)
                        .maxHeaderSize(4096)
                        .maxRequestLineLength(1024)
                        .maxBodySize(64 * 1024))) {
      long end = System.nanoTime() + Duration.ofMillis(millis).toNanos();
      int workers = 64; // most cases wait for a timeout: overlap them
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < workers; w++) {
        SplittableRandom random = new SplittableRandom(seed + w);
        int worker = w;
        threads.add(
            Thread.ofVirtual()
                .start(
                    () -> {
                      for (int i = 0; System.nanoTime() - end < 0; i++) {
                        byte[] input = mutate(random);
                        cases.incrementAndGet();
                        try {
                          Outcome o = run(server.port(), input);
                          responses.addAndGet(o.statuses.size());
                          if (!o.statuses.isEmpty()) closedWithResponse.incrementAndGet();
                          for (int s : o.statuses) {
                            // 505 is the answer RFC 9110 gives an unsupported version.
                            if (s >= 500 && s != 505) {
                              failures.add(describe(worker, i, input, "status " + s));
                            }
                          }
                        } catch (IOException | RuntimeException | AssertionError e) {
                          failures.add(describe(worker, i, input, e.toString()));
                        }
                      }
                    }));
      }
      for (Thread t : threads) t.join();
      System.out.printf(
          "ParserFuzzTest: %d cases in %d ms, %d answered before the close, %d responses%n",
          cases.get(), millis, closedWithResponse.get(), responses.get());
      assertThat(failures).as("failing cases (seed " + seed + ")").isEmpty();
      assertThat(logs.problems()).as("warnings logged (seed " + seed + ")").isEmpty();
      assertThat(cases.get()).isGreaterThan(100);
      // Still serving.
      assertThat(server.get("/after").body()).isEqualTo("read 0");
    }
  }

  private static String describe(int worker, int i, byte[] input, String what) {
    String text = new String(input, StandardCharsets.ISO_8859_1);
    if (text.length() > 300) text = text.substring(0, 300) + "...";
    return "worker " + worker + " case " + i + ": " + what + " for " + text.replace("\r", "\\r");
  }

  /** A seed request with one to three mutations. */
  static byte[] mutate(SplittableRandom r) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    byte[] in = SEEDS[r.nextInt(SEEDS.length)].getBytes(StandardCharsets.ISO_8859_1);
    int n = 1 + r.nextInt(3);
    for (int m = 0; m < n; m++) {
      b.reset();
      int at = r.nextInt(in.length + 1);
      switch (r.nextInt(5)) {
        case 0 -> { // flip one byte
          if (at == in.length) at--;
          b.write(in, 0, in.length);
          byte[] out = b.toByteArray();
          out[at] =
              r.nextBoolean() ? (byte) r.nextInt(256) : (byte) (out[at] ^ (1 << r.nextInt(8)));
          in = out;
          continue;
        }
        case 1 -> { // insert a token
          b.write(in, 0, at);
          b.writeBytes(TOKENS[r.nextInt(TOKENS.length)].getBytes(StandardCharsets.ISO_8859_1));
          b.write(in, at, in.length - at);
        }
        case 2 -> { // delete a range
          int len = Math.min(in.length - at, 1 + r.nextInt(8));
          b.write(in, 0, at);
          b.write(in, at + len, in.length - at - len);
        }
        case 3 -> b.write(in, 0, Math.max(1, at)); // truncate
        default -> { // duplicate a line
          String s = new String(in, StandardCharsets.ISO_8859_1);
          int start = s.lastIndexOf("\r\n", Math.max(0, at - 1));
          start = start < 0 ? 0 : start + 2;
          int stop = s.indexOf("\r\n", start);
          if (stop < 0) {
            b.write(in, 0, in.length);
          } else {
            b.write(in, 0, stop + 2);
            b.write(in, start, stop + 2 - start);
            b.write(in, stop + 2, in.length - stop - 2);
          }
        }
      }
      in = b.toByteArray();
    }
    return in;
  }

  record Outcome(List<Integer> statuses) {}

  /**
   * Sends {@code input} on a new connection and reads until the server closes it; fails if it is
   * still open after {@link #CASE_DEADLINE}. Returns the statuses of the responses read (status
   * lines at the start of the stream or after a complete response).
   */
  static Outcome run(int port, byte[] input) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setTcpNoDelay(true);
      try {
        s.getOutputStream().write(input);
      } catch (SocketException e) {
        // closed by the server before it read everything: the close is what matters
      }
      long end = System.nanoTime() + CASE_DEADLINE.toNanos();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[8192];
      try {
        while (true) {
          long left = end - System.nanoTime();
          if (left <= 0) throw new AssertionError("connection still open after " + CASE_DEADLINE);
          s.setSoTimeout((int) Math.max(1, left / 1_000_000));
          int n = in.read(buf);
          if (n < 0) break;
          got.write(buf, 0, n);
        }
      } catch (SocketTimeoutException e) {
        throw new AssertionError(
            "connection still open after "
                + CASE_DEADLINE
                + ", got: "
                + got.toString(StandardCharsets.ISO_8859_1));
      } catch (SocketException e) {
        // reset: closed as well
      }
      return new Outcome(statuses(got.toByteArray()));
    }
  }

  /** The statuses of the responses in {@code bytes}, read one after another while they parse. */
  private static List<Integer> statuses(byte[] bytes) {
    List<Integer> statuses = new ArrayList<>();
    java.io.ByteArrayInputStream in = new java.io.ByteArrayInputStream(bytes);
    try {
      while (in.available() > 0) {
        RawHttp.Response head = RawHttp.readHead(in);
        statuses.add(head.status());
        if (head.status() < 200) continue;
        if (head.header("content-length").isEmpty() && !head.chunked()) break;
        RawHttp.readBody(in, head, false);
      }
    } catch (EOFException e) {
      // a response cut by the close
    } catch (IOException | RuntimeException e) {
      // After a response to HEAD, whose Content-Length frames no body, the next one cannot be
      // found; before any response, the bytes are not HTTP at all.
      if (statuses.isEmpty()) {
        throw new AssertionError(
            "not a response: " + e + " in " + new String(bytes, StandardCharsets.ISO_8859_1));
      }
    }
    return statuses;
  }
}
