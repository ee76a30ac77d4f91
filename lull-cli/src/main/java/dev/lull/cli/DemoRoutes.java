package dev.lull.cli;

import dev.lull.core.Context;
import dev.lull.core.Durations;
import dev.lull.core.Subprocess;
import dev.lull.server.Hijacked;
import dev.lull.server.RouteOptions;
import dev.lull.server.Router;
import dev.lull.server.Scheduling;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The demo's routes (see {@code lull demo --help}). Kept out of {@link DemoCommand}: picocli reads
 * every method of a command class by reflection when it builds its model, and the route lambdas
 * were half of them (part of each socket-activated start, docs/STARTUP.md).
 */
final class DemoRoutes {
  private DemoRoutes() {}

  static Router routes() {
    return builder().build();
  }

  static Router.Builder builder() {
    return Router.builder()
        .get("/", (req, res) -> res.send("hello from lull (listener " + req.listener() + ")\n"))
        .get(
            "/ctx",
            (req, res) -> {
              // GET / plus what a careful handler does with its context: a callback registered
              // for the time of the work, then removed (bench/context.sh measures its cost).
              Context.Registration r = req.context().onCancel(() -> {});
              try {
                res.send("hello from lull (listener " + req.listener() + ")\n");
              } finally {
                r.remove();
              }
            })
        .route(
            "GET /ctx/deadline",
            (req, res) -> res.send("hello from lull (listener " + req.listener() + ")\n"),
            // GET / with a deadline: a context and a timer on every request.
            RouteOptions.builder().timeout(Duration.ofSeconds(30)).build())
        .get(
            "/slow",
            (req, res) -> {
              Duration d = queryDuration(req, "duration", "1s");
              if (d == null) {
                res.send(400, "bad duration\n");
                return;
              }
              Thread.sleep(d);
              res.send("slept " + Durations.format(d) + "\n");
            })
        .route(
            "GET /exec/sleep",
            (req, res) -> {
              // A subprocess bound to the request: cancelled (client gone, deadline, stop) means
              // killed, with its children. The argument list is fixed; request data is only a
              // number, never shell syntax.
              long seconds;
              try {
                seconds = Long.parseLong(req.query("seconds").orElse("1"));
              } catch (NumberFormatException e) {
                res.send(400, "bad seconds\n");
                return;
              }
              if (seconds < 0 || seconds > 3600) {
                res.send(400, "seconds out of range 0-3600\n");
                return;
              }
              // The shell stays as sleep's parent, so cancelling kills a tree of two.
              Process p =
                  Subprocess.start(
                      new ProcessBuilder(
                              "sh", "-c", "sleep \"$1\" & wait $!", "sleep", Long.toString(seconds))
                          .redirectErrorStream(true),
                      req.context(),
                      Subprocess.DEFAULT_GRACE);
              int code = p.waitFor();
              res.send("sleep exited " + code + " (pid " + p.pid() + ")\n");
            },
            // Starting a process is a fork and exec in native code: not on an event loop.
            SHARED)
        .route(
            "GET /compute",
            (req, res) -> {
              // Busy code is not woken by an interrupt: it checks its context between steps (a
              // cancelled context throws CancelledException, which ends the request quietly).
              int steps;
              try {
                steps = Integer.parseInt(req.query("steps").orElse("10"));
              } catch (NumberFormatException e) {
                res.send(400, "bad steps\n");
                return;
              }
              Duration step = queryDuration(req, "step", "200ms");
              if (step == null || steps < 0 || steps > 1000 || step.compareTo(MAX_STEP) > 0) {
                res.send(400, "steps out of range 0-1000 or step over 10s\n");
                return;
              }
              long sum = 0;
              for (int i = 0; i < steps; i++) {
                req.context().checkpoint();
                sum += spin(step, i);
              }
              res.send("computed " + steps + " steps (" + Long.toHexString(sum) + ")\n");
            },
            // Seconds of computing would hold up every connection of its event loop.
            SHARED)
        .route(
            "GET /deadline",
            (req, res) -> {
              Duration after = queryDuration(req, "after", "2s");
              if (after == null) {
                res.send(400, "bad after\n");
                return;
              }
              Thread.sleep(after); // interrupted when the route's deadline passes
              res.send("done after " + Durations.format(after) + "\n");
            },
            RouteOptions.builder().timeout(Duration.ofSeconds(1)).timeoutStatus(504).build())
        .get(
            "/stream",
            (req, res) -> {
              int chunks;
              try {
                chunks = Integer.parseInt(req.query("chunks").orElse("10"));
              } catch (NumberFormatException e) {
                res.send(400, "bad chunks\n");
                return;
              }
              Duration interval = queryDuration(req, "interval", "100ms");
              int size; // each chunk's line padded to this many bytes; 0: not padded
              try {
                size = Integer.parseInt(req.query("size").orElse("0"));
              } catch (NumberFormatException e) {
                size = -1;
              }
              if (interval == null || chunks < 0 || size < 0 || size > 1 << 20) {
                res.send(400, "bad interval, chunks or size (0 to 1048576)\n");
                return;
              }
              res.header("Content-Type", "text/plain; charset=utf-8");
              OutputStream out = res.body();
              for (int i = 1; i <= chunks; i++) {
                String line = "chunk " + i + " of " + chunks;
                if (line.length() + 1 < size) line += ".".repeat(size - line.length() - 1);
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                if (i < chunks) Thread.sleep(interval);
              }
              out.close();
            })
        .get(
            "/raw",
            (req, res) -> {
              // A hijacked connection: Lull sends nothing; the handler speaks for itself and
              // echoes lines until the client shuts down its side. Counts as busy until closed.
              try (Hijacked conn = res.hijack()) {
                OutputStream out = conn.output();
                out.write(
                    ("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                            + "Upgrade: echo\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                BufferedReader in =
                    new BufferedReader(new InputStreamReader(conn.input(), StandardCharsets.UTF_8));
                for (String line; (line = in.readLine()) != null; ) {
                  out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                }
              }
            });
  }

  private static Duration queryDuration(dev.lull.server.Request req, String name, String fallback) {
    try {
      return Durations.parse(req.query(name).orElse(fallback));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static final Duration MAX_STEP = Duration.ofSeconds(10);

  /** Keeps a CPU busy for {@code d}: one step of /compute. */
  private static long spin(Duration d, long seed) {
    long end = System.nanoTime() + d.toNanos();
    long x = seed;
    while (System.nanoTime() - end < 0) {
      for (int i = 0; i < 1000; i++) x = x * 6364136223846793005L + 1442695040888963407L;
    }
    return x;
  }

  private static final RouteOptions SHARED =
      RouteOptions.builder().scheduling(Scheduling.SHARED).build();
}
