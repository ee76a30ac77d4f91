package dev.lull.cli;

import dev.lull.core.ConnectionState;
import dev.lull.core.Durations;
import dev.lull.core.Phase;
import dev.lull.core.SocketActivation;
import dev.lull.core.Work;
import dev.lull.jobs.Jobs;
import dev.lull.jobs.redis.RedisJobStore;
import dev.lull.jobs.spi.JobStoreException;
import dev.lull.server.BoundListener;
import dev.lull.server.Router;
import dev.lull.server.Scheduling;
import dev.lull.server.Server;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code lull demo}: a small server that shows what Lull does. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the demo server.",
      "Routes: GET / (hello), GET /slow?duration=20s (sleeps, then answers),",
      "GET /stream?chunks=N&interval=100ms&size=BYTES (a chunked response),",
      "GET /ctx (as GET /, registering and removing an onCancel callback),",
      "GET /ctx/deadline (as GET /, with a 30s deadline),",
      "GET /compute?steps=10&step=200ms (busy work that checks its context between steps),",
      "GET /exec/sleep?seconds=N (runs sleep through a shell; killed with it if cancelled),",
      "GET /deadline?after=2s (a route with a 1s timeout: 504 when the work takes longer),",
      "GET /raw (takes the connection over: 101 Switching Protocols, then echoes lines)."
    })
final class DemoCommand implements Callable<Integer> {
  private static final System.Logger LOG = System.getLogger("dev.lull.demo");

  /** Told the server once it has started: {@code lull train} drives it from there. */
  static volatile java.util.function.Consumer<Server> onStarted;

  @Option(
      names = "--listen",
      paramLabel = "LISTENER",
      description = {
        "Where to listen; repeatable. HOST:PORT ([::1]:0 for IPv6, port 0 = ephemeral),",
        "unix:/path, systemd (every socket systemd passed) or systemd:NAME; NAME=... names it.",
        "Default: systemd when systemd passed sockets (LISTEN_FDS for this LISTEN_PID),",
        "else 127.0.0.1:8080."
      })
  List<String> listen = new ArrayList<>();

  @Option(
      names = "--read-header-timeout",
      paramLabel = "DURATION",
      description = "Time to send a request head (default: ${DEFAULT-VALUE}).",
      defaultValue = "10s")
  String readHeaderTimeout;

  @Option(
      names = "--read-body-timeout",
      paramLabel = "DURATION",
      description =
          "Longest pause in a request body before it fails with 408; 0 = none"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "30s")
  String readBodyTimeout;

  @Option(
      names = "--keep-alive-timeout",
      paramLabel = "DURATION",
      description = "Idle keep-alive connections close after this (default: ${DEFAULT-VALUE}).",
      defaultValue = "60s")
  String keepAliveTimeout;

  @Option(
      names = "--max-header-size",
      paramLabel = "BYTES",
      description = "Largest request head; larger gets 431 (default: ${DEFAULT-VALUE}).",
      defaultValue = "16384")
  int maxHeaderSize;

  @Option(
      names = "--max-request-line",
      paramLabel = "BYTES",
      description = "Longest request line; longer gets 414 (default: ${DEFAULT-VALUE}).",
      defaultValue = "8192")
  int maxRequestLine;

  @Option(
      names = "--max-body-size",
      paramLabel = "BYTES",
      description = "Largest request body; larger gets 413 (default: ${DEFAULT-VALUE}).",
      defaultValue = "1073741824")
  long maxBodySize;

  @Option(
      names = "--max-connections",
      paramLabel = "N",
      description =
          "Most connections open at once; at the limit new ones wait in the kernel's accept queue"
              + " until one closes. 0 = no limit (default: ${DEFAULT-VALUE}).",
      defaultValue = "0")
  int maxConnections;

  @Option(
      names = "--io-threads",
      paramLabel = "N",
      description = "Event-loop threads; 0 = one per CPU (default: ${DEFAULT-VALUE}).",
      defaultValue = "0")
  int ioThreads;

  @Option(
      names = "--idle-timeout",
      paramLabel = "DURATION",
      description =
          "Exit after this long without activity; 0 = never (default: ${DEFAULT-VALUE}). "
              + "With socket activation systemd starts the next instance on the next connection.",
      defaultValue = "30s")
  String idleTimeout;

  @Option(
      names = "--stop-timeout",
      paramLabel = "DURATION",
      description =
          "On SIGTERM, wait this long for in-flight requests, then cancel them; 0 = forever"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "20s")
  String stopTimeout;

  @Option(
      names = "--kill-timeout",
      paramLabel = "DURATION",
      description =
          "After cancelling, wait this long before closing connections by force"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "5s")
  String killTimeout;

  @Option(
      names = "--drain-delay",
      paramLabel = "DURATION",
      description =
          "On SIGTERM, keep serving this long with readiness failing before stopping"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "0s")
  String drainDelay;

  @Option(
      names = "--request-timeout",
      paramLabel = "DURATION",
      description =
          "Deadline of each request: 503 if it has not answered by then; 0 = none"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "0")
  String requestTimeout;

  @Option(
      names = "--scheduling",
      paramLabel = "WHERE",
      description =
          "Where handlers' virtual threads run: event-loop (on their connection's event loop,"
              + " where the JVM allows it) or shared (the JDK's scheduler). Routes that compute,"
              + " run processes or write files use shared either way (default: ${DEFAULT-VALUE}).",
      defaultValue = "event-loop")
  String scheduling;

  @Option(
      names = "--admin",
      paramLabel = "LISTENER",
      description = {
        "Serve /livez, /readyz, /metrics, /status on this listener, e.g. 127.0.0.1:9090 or",
        "systemd:admin. Must be loopback or a unix socket unless --admin-public. Default: none,",
        "or the systemd socket named admin when systemd passed one."
      })
  String admin;

  @Option(
      names = "--admin-public",
      description = "Allow --admin on an address other hosts can reach (no authentication!).")
  boolean adminPublic;

  @Mixin LogOptions logOptions;

  @Option(
      names = "--jobs-dir",
      paramLabel = "DIR",
      description =
          "Where background jobs and their inputs are stored (default: $STATE_DIRECTORY/jobs or"
              + " ~/.local/state/lull/jobs).")
  Path jobsDirectory;

  @Option(
      names = "--jobs",
      paramLabel = "STORE",
      description =
          "Where background jobs are kept: sqlite (default: one process, under --jobs-dir) or"
              + " redis://host:port (Redis Streams, shared by several instances; inputs go under"
              + " --jobs-dir/inputs, which every instance must mount).")
  String jobsStore = "sqlite";

  @Option(
      names = "--jobs-max-attempts",
      paramLabel = "N",
      description =
          "Attempts of a job before it fails; an attempt cut by a crash counts"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "3")
  int jobsMaxAttempts;

  @Override
  public Integer call() throws Exception {
    Main.awaitNetty();
    Path jobsDir = jobsDirectory != null ? jobsDirectory : Jobs.defaultDataDirectory();
    Jobs jobs;
    try {
      Jobs.Builder jb = Jobs.builder();
      if (jobsStore.startsWith("redis://") || jobsStore.startsWith("rediss://")) {
        jb.store(RedisJobStore.builder(jobsStore).inputDirectory(jobsDir.resolve("inputs")).open());
      } else if (jobsStore.equals("sqlite")) {
        jb.dataDirectory(jobsDir);
      } else {
        throw new ConfigException("--jobs: sqlite or redis://host:port, not " + jobsStore);
      }
      jobs = DemoJobs.register(jb.maxAttempts(jobsMaxAttempts)).build();
    } catch (IllegalArgumentException | IllegalStateException | JobStoreException e) {
      throw new ConfigException(
          "--jobs " + jobsStore + ", --jobs-dir " + jobsDir + ": " + e.getMessage());
    }
    // The job store (SQLite: a native library, a database) is opened after the server serves, so
    // that the first request, which under socket activation waits for the whole start, does not pay
    // for it: once the first request has been answered, a job route is called, a second has passed
    // or a stop begins, whichever comes first. Job routes wait for it; a tracked piece of work
    // keeps the server from counting as idle (and a drain from ending) until resumed jobs are
    // tracked themselves.
    CompletableFuture<Void> jobsReady = new CompletableFuture<>();
    CompletableFuture<Void> openJobsNow = new CompletableFuture<>();
    Router.Builder router = DemoRoutes.builder();
    DemoJobs.addRoutes(
        router,
        jobs,
        h ->
            (req, res) -> {
              openJobsNow.complete(null);
              try {
                jobsReady.get();
              } catch (ExecutionException e) {
                res.send(503, "jobs are unavailable\n");
                return;
              }
              h.handle(req, res);
            });
    Server.Builder builder =
        Server.builder()
            .handler(router.build())
            .connectionListener(
                (id, from, to) -> {
                  if (from == ConnectionState.ACTIVE) openJobsNow.complete(null);
                });
    try {
      List<String> specs = listen;
      SocketActivation activation = SocketActivation.inherited();
      String adminSpec = admin;
      if (adminSpec == null && activation.names().contains(ADMIN_SOCKET)) {
        adminSpec = "systemd:" + ADMIN_SOCKET;
      }
      if (specs.isEmpty()) {
        // Reading the sockets also removes LISTEN_* from the environment (see SocketActivation).
        specs = defaultListeners(activation, adminSpec);
      }
      for (String spec : specs) builder.listen(spec);
      if (adminSpec != null) builder.admin(adminSpec).adminPublic(adminPublic);
      builder
          .readHeaderTimeout(duration("--read-header-timeout", readHeaderTimeout))
          .readBodyTimeout(duration("--read-body-timeout", readBodyTimeout))
          .keepAliveTimeout(duration("--keep-alive-timeout", keepAliveTimeout))
          .maxHeaderSize(maxHeaderSize)
          .maxRequestLineLength(maxRequestLine)
          .maxBodySize(maxBodySize)
          .maxConnections(count("--max-connections", maxConnections))
          .ioThreads(ioThreads)
          .idleTimeout(duration("--idle-timeout", idleTimeout))
          .stopTimeout(duration("--stop-timeout", stopTimeout))
          .killTimeout(duration("--kill-timeout", killTimeout))
          .drainDelay(duration("--drain-delay", drainDelay))
          .requestTimeout(duration("--request-timeout", requestTimeout))
          .scheduling(scheduling(scheduling));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
    Server server;
    try {
      server = builder.build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new ConfigException(e.getMessage());
    }
    // Before the server starts: resumed jobs count as activity from the first instant.
    Work opening = server.activity().begin("jobs", "opening the job store");
    server
        .lifecycle()
        .addListener(
            c -> {
              if (c.to() != Phase.STARTING && c.to() != Phase.RUNNING) openJobsNow.complete(null);
            });
    server.stopOnSignals();
    try {
      server.start();
    } catch (IllegalStateException | IllegalArgumentException | java.io.UncheckedIOException e) {
      opening.close();
      throw new ConfigException(e.getMessage());
    }
    AtomicReference<Exception> jobsFailure = new AtomicReference<>();
    Thread.ofVirtual()
        .name("lull-jobs-open")
        .start(
            () -> {
              try {
                openJobsNow.completeOnTimeout(null, 1, TimeUnit.SECONDS).join();
                Phase phase = server.lifecycle().phase();
                if (phase != Phase.STARTING && phase != Phase.RUNNING) {
                  // Stopping before it was needed: what is unfinished is left for the next start.
                  jobsReady.completeExceptionally(new IllegalStateException("stopping"));
                  return;
                }
                jobs.start(server.lifecycle());
                jobsReady.complete(null);
              } catch (RuntimeException e) {
                // The CLI's one line, then exit code 2, as for any bad configuration.
                jobsFailure.set(e);
                jobsReady.completeExceptionally(e);
                server.stop();
              } finally {
                opening.close();
              }
            });
    java.util.function.Consumer<Server> hook = onStarted;
    if (hook != null) hook.accept(server);
    for (BoundListener l : server.listeners()) {
      LOG.log(
          System.Logger.Level.INFO,
          "listening: "
              + l.name()
              + " on "
              + addressText(l)
              + (l.inherited() ? " (from systemd)" : ""));
    }
    LOG.log(
        System.Logger.Level.INFO,
        jobsStore.equals("sqlite")
            ? "jobs: data in " + jobsDir
            : "jobs: in " + jobsStore + ", inputs in " + jobsDir.resolve("inputs"));
    for (BoundListener l : server.adminListeners()) {
      LOG.log(
          System.Logger.Level.INFO,
          "admin: " + adminUrl(l) + (l.inherited() ? " (from systemd)" : ""));
    }
    // Exit with the lifecycle's code: 0 after a stop by signal or idle timer (not 143).
    int code = server.awaitTermination().exitCode();
    Exception failed = jobsFailure.get();
    if (failed != null) {
      throw new ConfigException("--jobs-dir " + jobsDir + ": " + failed.getMessage());
    }
    return code;
  }

  private static String addressText(BoundListener l) {
    if (l.address() instanceof java.net.InetSocketAddress inet) {
      String host = inet.getHostString();
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + inet.getPort();
    }
    return "unix:" + l.address().toString();
  }

  private static String adminUrl(BoundListener l) {
    if (l.address() instanceof java.net.InetSocketAddress) {
      return "http://" + addressText(l) + "/status";
    }
    return l.address() + " (GET /status)";
  }

  /** The name of the systemd socket that is the admin listener unless --admin says otherwise. */
  static final String ADMIN_SOCKET = "admin";

  /** Every socket systemd passed except the admin one, each by name; else 127.0.0.1:8080. */
  static List<String> defaultListeners(SocketActivation activation, String adminSpec) {
    if (activation.fds().isEmpty()) return List.of("127.0.0.1:8080");
    String adminName =
        adminSpec != null && adminSpec.startsWith("systemd:")
            ? adminSpec.substring("systemd:".length())
            : null;
    if (adminName == null) return List.of("systemd");
    List<String> specs = new ArrayList<>();
    for (String name : activation.names()) {
      if (!name.equals(adminName)) specs.add("systemd:" + name);
    }
    if (specs.isEmpty()) {
      throw new ConfigException("systemd passed only the admin socket \"" + adminName + "\"");
    }
    return specs;
  }

  private static int count(String option, int value) {
    if (value < 0) throw new ConfigException(option + ": 0 (none) or more, not " + value);
    return value;
  }

  private static Duration duration(String option, String value) {
    try {
      return Durations.parse(value);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(option + ": " + e.getMessage());
    }
  }

  private static Scheduling scheduling(String value) {
    return switch (value) {
      case "event-loop" -> Scheduling.EVENT_LOOP;
      case "shared" -> Scheduling.SHARED;
      default -> throw new ConfigException("--scheduling: event-loop or shared, not " + value);
    };
  }
}
