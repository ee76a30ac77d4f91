package dev.lull.jobs;

import dev.lull.core.ActivityTracker;
import dev.lull.core.CancellationCause;
import dev.lull.core.CancelledException;
import dev.lull.core.Context;
import dev.lull.core.Durations;
import dev.lull.core.Lifecycle;
import dev.lull.core.Phase;
import dev.lull.core.Scheduler;
import dev.lull.core.Ticker;
import dev.lull.core.Work;
import dev.lull.jobs.internal.JobIds;
import dev.lull.jobs.internal.Json;
import dev.lull.jobs.internal.SqliteJobStore;
import dev.lull.jobs.spi.InputSink;
import dev.lull.jobs.spi.JobStore;
import dev.lull.jobs.spi.JobStoreException;
import dev.lull.jobs.spi.Lease;
import dev.lull.jobs.spi.NewJob;
import dev.lull.jobs.spi.Outcome;
import dev.lull.server.Handler;
import dev.lull.server.Request;
import dev.lull.server.Response;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Background jobs: a request hands its body to a job, gets {@code 202 Accepted} once the job and
 * its input are durable, and a bounded pool of workers runs the job — tracked as activity by the
 * server's lifecycle, resumed by the next instance if this one stops or dies.
 *
 * <pre>{@code
 * Jobs jobs = Jobs.builder()
 *     .dataDirectory(Path.of("/var/lib/myapp/jobs"))
 *     .handler("csv", job -> Map.of("rows", countRows(job)))
 *     .build();
 * Router.Builder router = Router.builder().post("/jobs/csv", jobs.acceptHandler("csv"));
 * jobs.routes().forEach(router::route);   // GET /jobs, GET /jobs/{id}, DELETE /jobs/{id}
 * Server server = Server.builder().listen("127.0.0.1:8080").handler(router.build()).build();
 * jobs.start(server.lifecycle());          // resumes unfinished jobs
 * server.start();
 * }</pre>
 *
 * <h2>Durability and delivery</h2>
 *
 * {@link #accept} streams the body into the store (never whole in memory), commits it and the job,
 * and only then answers {@code 202} with {@code Location: /jobs/{id}}. Jobs run at least once: an
 * attempt cut by a graceful stop, or by the death of its process, runs again. A handler makes its
 * observable result exactly-once with {@link JobContext#done(String, String)} checkpoints; see
 * docs/JOBS.md.
 *
 * <h2>Lifecycle</h2>
 *
 * With {@link Builder#lifecycle(Lifecycle)}, every job queued or running here holds a {@link Work}
 * of the lifecycle's tracker, so the server does not exit idle with work pending. When the
 * lifecycle starts draining, intake answers 503, queued jobs are no longer started (their work is
 * released; they wait in the store for the next instance), and running jobs go on until they end or
 * the stop timeout cancels their work: then their {@link JobContext#context()} is cancelled with
 * {@link CancellationCause#SERVER_STOPPING} and they return to the queue, the attempt not counted.
 * On termination the store is closed.
 *
 * <h2>Backpressure</h2>
 *
 * At most {@code workers} jobs run at once; at most {@code queueCapacity} jobs are queued or
 * running here. Beyond that {@link #accept} answers {@code 503 Service Unavailable} with {@code
 * Retry-After} before reading the body, rather than filling the disk or the heap.
 */
public final class Jobs implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.lull.jobs");

  /** How long {@link #close()} waits for running jobs after cancelling them. */
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

  private final Map<String, JobHandler> handlers;
  private final Set<String> types;
  private final Path dataDirectory;
  private final JobStore givenStore;
  private final int workers;
  private final int queueCapacity;
  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Duration lease;
  private final Duration heartbeat;
  private final Duration retention;
  private final Duration retryAfter;
  private final long maxInputSize;
  private final String basePath;
  private final InstantSource clock;
  // Set by start() (the lifecycle may be given there); read after it.
  private volatile Lifecycle lifecycle;
  private volatile ActivityTracker tracker;
  private volatile Ticker ticker;
  private volatile Scheduler scheduler;
  private final ActivityTracker givenTracker;
  private final Ticker givenTicker;
  private final Scheduler givenScheduler;
  private final List<JobListener> listeners;
  private final JobIds ids;
  // This instance's name in the store's leases; made by start(): it looks up the host name and
  // draws a random number, which has no place on a server's start path before its first response.
  private volatile String owner;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition runsChanged = lock.newCondition();
  // Guarded by lock:
  private boolean started;
  private boolean draining;
  private boolean closed;
  private int reserved; // uploads in progress, counted against queueCapacity
  private Scheduler.Cancellable wakeTimer;
  private Scheduler.Cancellable tickTimer;
  private Instant lastSweep;

  /** Jobs queued or running here, by id. */
  private final ConcurrentHashMap<String, Tracked> tracked = new ConcurrentHashMap<>();

  private final Semaphore permits;
  private final Semaphore wakeups = new Semaphore(0);
  private volatile JobStore store;
  private Thread dispatcher;

  private Jobs(Builder b) {
    this.handlers = Map.copyOf(b.handlers);
    this.types = Set.copyOf(b.handlers.keySet());
    this.dataDirectory = b.dataDirectory;
    this.givenStore = b.store;
    this.workers = b.workers;
    this.queueCapacity = b.queueCapacity;
    this.maxAttempts = b.maxAttempts;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.lease = b.lease;
    // A third of the lease, at most 1s. Not dividedBy: its BigDecimal arithmetic cost 10-20 ms of
    // a cold start (docs/STARTUP.md).
    this.heartbeat =
        b.lease.compareTo(Duration.ofSeconds(3)) >= 0
            ? Duration.ofSeconds(1)
            : Duration.ofNanos(b.lease.toNanos() / 3);
    this.retention = b.retention;
    this.retryAfter = b.retryAfter;
    this.maxInputSize = b.maxInputSize;
    this.basePath = b.basePath;
    this.lifecycle = b.lifecycle;
    this.givenTracker = b.tracker;
    this.givenTicker = b.ticker;
    this.givenScheduler = b.scheduler;
    this.clock = b.clock;
    this.listeners = new CopyOnWriteArrayList<>(b.listeners);
    this.ids = new JobIds(clock);
    this.permits = new Semaphore(workers);
  }

  /** A builder with the defaults its setters document. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Where jobs live unless {@link Builder#dataDirectory} says otherwise: {@code
   * $STATE_DIRECTORY/jobs} when systemd sets it ({@code StateDirectory=} in the unit), else {@code
   * $XDG_STATE_HOME/lull/jobs}, else {@code ~/.local/state/lull/jobs}.
   */
  public static Path defaultDataDirectory() {
    String state = System.getenv("STATE_DIRECTORY");
    if (state != null && !state.isBlank()) return Path.of(state.split(":")[0], "jobs");
    String xdg = System.getenv("XDG_STATE_HOME");
    if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
      return Path.of(xdg, "lull", "jobs");
    }
    return Path.of(System.getProperty("user.home"), ".local", "state", "lull", "jobs");
  }

  private static String instanceName() {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "localhost";
    }
    return host
        + "/"
        + ProcessHandle.current().pid()
        + "/"
        + UUID.randomUUID().toString().substring(0, 8);
  }

  // ---------------------------------------------------------------- start and stop

  /**
   * Opens the store, queues again what a dead process left running, and starts the workers: every
   * unfinished job of a registered type is resumed. If the lifecycle is already stopping, opens the
   * store but starts nothing.
   *
   * @throws JobStoreException if the store cannot be opened (for SQLite: another process holds the
   *     data directory)
   * @throws IllegalStateException if called twice
   */
  public Jobs start() {
    return start(null);
  }

  /**
   * Starts as {@link #start()}, attached to {@code lifecycle} (unless the builder was given one):
   * for a server whose lifecycle exists only once it is built, when its router already needs this
   * object's handlers.
   *
   * @param attachTo may be null
   */
  public Jobs start(Lifecycle attachTo) {
    String name = instanceName(); // a host name lookup: not under the lock
    Lifecycle lc;
    lock.lock();
    try {
      if (started) throw new IllegalStateException("start() called twice");
      if (closed) throw new IllegalStateException("closed");
      started = true;
      owner = name;
      if (lifecycle == null) lifecycle = attachTo;
      lc = lifecycle;
      tracker =
          lc != null
              ? lc.tracker()
              : givenTracker != null ? givenTracker : ActivityTracker.builder().build();
      ticker = givenTicker != null ? givenTicker : tracker.ticker();
      scheduler = givenScheduler != null ? givenScheduler : tracker.scheduler();
    } finally {
      lock.unlock();
    }
    JobStore s =
        givenStore != null ? givenStore : SqliteJobStore.open(dataDirectory, clock.instant());
    store = s;
    try {
      sweep();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "jobs: retention sweep failed", e);
    }
    if (lc != null) {
      lc.addListener(
          change -> {
            if (change.to() != Phase.STARTING && change.to() != Phase.RUNNING) drain();
          });
      lc.onTerminated(t -> close());
    }
    boolean stopping = lc != null && isStopping(lc.phase());
    List<Job> unfinished = s.unfinished(types);
    lock.lock();
    try {
      if (stopping) draining = true;
      if (!draining) {
        for (Job j : unfinished) track(j.id(), j.type());
      }
    } finally {
      lock.unlock();
    }
    if (!unfinished.isEmpty()) {
      LOG.log(
          System.Logger.Level.INFO,
          "jobs: "
              + unfinished.size()
              + " unfinished job(s) in "
              + where()
              + (stopping ? " (stopping: left for the next instance)" : ", resuming"));
    }
    if (!stopping) {
      dispatcher = Thread.ofVirtual().name("lull-jobs-dispatcher").start(this::dispatch);
      scheduleTick();
    }
    return this;
  }

  private static boolean isStopping(Phase p) {
    return p == Phase.DRAINING || p == Phase.STOPPING || p == Phase.TERMINATED;
  }

  private String where() {
    return dataDirectory != null && givenStore == null ? dataDirectory.toString() : "" + store;
  }

  /**
   * Stops taking jobs and stops starting queued ones; running jobs go on. Called when the lifecycle
   * starts draining; idempotent.
   */
  void drain() {
    List<Work> release = new ArrayList<>();
    lock.lock();
    try {
      if (draining) return;
      draining = true;
      for (Tracked t : tracked.values()) {
        if (t.run == null) {
          tracked.remove(t.id);
          if (t.work != null) release.add(t.work);
        }
      }
      if (wakeTimer != null) wakeTimer.cancel();
      wakeTimer = null;
    } finally {
      lock.unlock();
    }
    wakeups.release();
    for (Work w : release) w.close();
    // Nothing to tell when no job was here (for instance a start that failed: its one error line
    // is the CLI's).
    LOG.log(
        release.isEmpty() && tracked.isEmpty()
            ? System.Logger.Level.DEBUG
            : System.Logger.Level.INFO,
        "jobs: draining; "
            + release.size()
            + " queued job(s) left for the next instance, "
            + tracked.size()
            + " running");
  }

  /**
   * Stops: no more intake, no more starts; cancels running jobs (they go back to the queue, the
   * attempt not counted), waits up to 5s for them, and closes the store. Called by the lifecycle
   * when it terminates; idempotent.
   */
  @Override
  public void close() {
    drain();
    lock.lock();
    try {
      if (closed) return;
      closed = true;
      if (tickTimer != null) tickTimer.cancel();
      tickTimer = null;
    } finally {
      lock.unlock();
    }
    for (Tracked t : tracked.values()) {
      Run r = t.run;
      if (r != null) r.context.cancel(CancellationCause.SERVER_STOPPING);
    }
    long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
    lock.lock();
    try {
      while (!tracked.isEmpty()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          LOG.log(
              System.Logger.Level.WARNING,
              "jobs: "
                  + tracked.size()
                  + " job(s) did not end within "
                  + Durations.format(CLOSE_WAIT)
                  + " of their cancellation; the next instance takes them up");
          break;
        }
        runsChanged.awaitNanos(left);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      lock.unlock();
    }
    Thread d = dispatcher;
    if (d != null) d.interrupt();
    JobStore s = store;
    if (s != null) s.close();
  }

  // ---------------------------------------------------------------- intake

  /**
   * A handler that accepts the request's body as the input of a job of {@code type}; see {@link
   * #accept}.
   *
   * @throws IllegalArgumentException if no handler is registered for {@code type}
   */
  public Handler acceptHandler(String type) {
    checkType(type);
    return (request, response) -> accept(request, response, type);
  }

  private void checkType(String type) {
    if (!handlers.containsKey(type)) {
      throw new IllegalArgumentException("no job handler registered for type \"" + type + "\"");
    }
  }

  /**
   * Accepts the body of {@code request} as the input of a new job of {@code type}: streams it into
   * the store, commits the job, and only then answers {@code 202 Accepted} with {@code Location}
   * and the job as JSON. The query string and {@code Content-Type} are kept with the job ({@link
   * JobContext#parameter}).
   *
   * <p>Answers {@code 503} with {@code Retry-After} (without reading the body) when the jobs are
   * not started, are draining, or {@code queueCapacity} jobs are queued or running; {@code 413}
   * when the body exceeds {@code maxInputSize}; {@code 507} when the store cannot write the input.
   *
   * @throws IOException if reading the body failed (the client left, or the body exceeded the
   *     server's {@code maxBodySize}: the server answers for it); nothing is kept
   */
  public void accept(Request request, Response response, String type) throws IOException {
    checkType(type);
    String refusal = reserve();
    if (refusal != null) {
      LOG.log(System.Logger.Level.DEBUG, () -> "jobs: refused a " + type + " job: " + refusal);
      response
          .status(503)
          .header("Retry-After", Long.toString(Math.max(1, retryAfter.toSeconds())))
          .header("Content-Type", "application/json");
      response.send(Json.write(Map.of("error", refusal)));
      return;
    }
    try {
      String id = ids.next();
      JobStore s = store;
      long size;
      try (InputSink sink = s.createInput(id)) {
        InputStream body = request.body();
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = body.read(buf)) >= 0) {
          total += n;
          if (maxInputSize >= 0 && total > maxInputSize) {
            response.status(413).header("Content-Type", "application/json");
            response.send(
                Json.write(Map.of("error", "input larger than maxInputSize " + maxInputSize)));
            return;
          }
          try {
            sink.write(buf, 0, n);
          } catch (IOException e) {
            storageFailed(response, id, e);
            return;
          }
        }
        try {
          size = sink.commit();
        } catch (IOException e) {
          storageFailed(response, id, e);
          return;
        }
      }
      Instant now = clock.instant();
      s.insert(
          new NewJob(
              id,
              type,
              maxAttempts,
              now,
              size,
              request.header("Content-Type"),
              request.rawQuery()));
      lock.lock();
      try {
        if (!draining) track(id, type);
      } finally {
        lock.unlock();
      }
      // Told before the dispatcher is woken, so that a job's events arrive in order.
      emit(new JobEvent(id, type, JobState.QUEUED, 0, "accepted, " + size + " bytes"));
      wakeups.release();
      Job job = s.find(id).orElseThrow();
      response
          .status(202)
          .header("Location", basePath + "/" + id)
          .header("Content-Type", "application/json");
      response.send(view(job));
    } finally {
      lock.lock();
      try {
        reserved--;
      } finally {
        lock.unlock();
      }
    }
  }

  private void storageFailed(Response response, String id, IOException e) {
    LOG.log(System.Logger.Level.ERROR, "jobs: cannot store the input of job " + id, e);
    response.status(507).header("Content-Type", "application/json");
    response.send(Json.write(Map.of("error", "cannot store the input: " + e.getMessage())));
  }

  /** Reserves a place for one more job; the reason for refusing, or null. */
  private String reserve() {
    lock.lock();
    try {
      if (!started || closed) return "not accepting jobs: not started";
      if (draining) return "not accepting jobs: the server is stopping";
      if (tracked.size() + reserved >= queueCapacity) {
        return "job queue full: " + queueCapacity + " jobs queued or running";
      }
      reserved++;
      return null;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Submits a job whose input is {@code input}, as {@link #accept} does for a request, without
   * HTTP.
   *
   * @param parameters a raw query string the handler reads with {@link JobContext#parameter}
   * @return the new job's id
   * @throws IllegalStateException if not accepting (not started, draining, or full)
   * @throws IOException if reading {@code input} or storing it failed
   */
  public String submit(String type, InputStream input, String parameters) throws IOException {
    checkType(type);
    String refusal = reserve();
    if (refusal != null) throw new IllegalStateException(refusal);
    try {
      String id = ids.next();
      long size;
      try (InputSink sink = store.createInput(id)) {
        input.transferTo(sink);
        size = sink.commit();
      }
      store.insert(
          new NewJob(id, type, maxAttempts, clock.instant(), size, Optional.empty(), parameters));
      lock.lock();
      try {
        if (!draining) track(id, type);
      } finally {
        lock.unlock();
      }
      // Told before the dispatcher is woken, so that a job's events arrive in order.
      emit(new JobEvent(id, type, JobState.QUEUED, 0, "accepted, " + size + " bytes"));
      wakeups.release();
      return id;
    } finally {
      lock.lock();
      try {
        reserved--;
      } finally {
        lock.unlock();
      }
    }
  }

  /** Tracks a job queued here: it holds a Work until it ends or the drain releases it. Locked. */
  private Tracked track(String id, String type) {
    Tracked t = tracked.get(id);
    if (t != null) return t;
    Tracked n = new Tracked(id, type);
    n.work = tracker.begin("job", type + " " + id, n::cancelForStop);
    tracked.put(id, n);
    return n;
  }

  // ---------------------------------------------------------------- reading

  /** The job {@code id}, with the live progress if it runs here. */
  public Optional<Job> find(String id) {
    return store().find(id).map(this::live);
  }

  /** Up to {@code limit} jobs with ids after {@code afterId} (null: from the first), by id. */
  public List<Job> list(String afterId, int limit) {
    List<Job> jobs = store().list(afterId, limit);
    List<Job> out = new ArrayList<>(jobs.size());
    for (Job j : jobs) out.add(live(j));
    return out;
  }

  private Job live(Job j) {
    Tracked t = tracked.get(j.id());
    Run r = t == null ? null : t.run;
    if (r != null && j.state() == JobState.RUNNING) {
      return j.withProgress(r.done.get(), r.total.get());
    }
    return j;
  }

  /**
   * Cancels job {@code id}: a queued job is {@code CANCELLED} at once; a running one has its
   * context cancelled ({@link CancellationCause#CANCELLED}) and is {@code CANCELLED} when its
   * handler has ended; a finished one is left as it is.
   *
   * @return the job after the request; empty if there is none
   */
  public Optional<Job> cancel(String id) {
    Optional<Job> j = store().requestCancel(id, clock.instant());
    if (j.isEmpty()) return j;
    Tracked t = tracked.get(id);
    if (j.get().state() == JobState.CANCELLED && t != null && t.run == null) {
      untrack(t);
      emit(new JobEvent(id, t.type, JobState.CANCELLED, j.get().attempts(), "cancelled"));
    } else if (t != null) {
      Run r = t.run;
      if (r != null) r.context.cancel(CancellationCause.CANCELLED);
    }
    return j.map(this::live);
  }

  private void untrack(Tracked t) {
    Work w;
    lock.lock();
    try {
      if (!tracked.remove(t.id, t)) return;
      w = t.work;
      runsChanged.signalAll();
    } finally {
      lock.unlock();
    }
    if (w != null) w.close();
  }

  private JobStore store() {
    JobStore s = store;
    if (s == null) throw new IllegalStateException("not started");
    return s;
  }

  /** The data directory of the embedded store; empty with a custom store. */
  public Optional<Path> dataDirectory() {
    return givenStore == null ? Optional.of(dataDirectory) : Optional.empty();
  }

  /** How many jobs are running here now. */
  public int running() {
    int n = 0;
    for (Tracked t : tracked.values()) if (t.run != null) n++;
    return n;
  }

  /** How many jobs are queued here now (waiting for a worker or for their retry time). */
  public int queued() {
    int n = 0;
    for (Tracked t : tracked.values()) if (t.run == null) n++;
    return n;
  }

  /** Adds a listener for job state changes. */
  public void addListener(JobListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  // ---------------------------------------------------------------- HTTP

  /**
   * The HTTP API over the jobs, by route ({@code "GET /jobs/{id}"} → handler), to add to a router
   * with {@code jobs.routes().forEach(router::route)}:
   *
   * <ul>
   *   <li>{@code GET /jobs/{id}}: the job as JSON (state, progress, timestamps, attempts, result or
   *       error); 404 if unknown.
   *   <li>{@code GET /jobs?limit=50&after=ID}: {@code {"jobs": [...], "next": ID or null}}, by id
   *       (that is, by creation); {@code limit} from 1 to 1000, default 50.
   *   <li>{@code DELETE /jobs/{id}}: cancels; 200 with the job when it is {@code CANCELLED}, 202
   *       when a running job was asked to stop, 409 when it had already finished, 404 if unknown.
   * </ul>
   *
   * The prefix is {@link Builder#basePath} ({@code /jobs}).
   */
  public Map<String, Handler> routes() {
    Map<String, Handler> m = new LinkedHashMap<>();
    m.put("GET " + basePath, this::handleList);
    m.put("GET " + basePath + "/{id}", this::handleGet);
    m.put("DELETE " + basePath + "/{id}", this::handleDelete);
    return m;
  }

  private void handleGet(Request req, Response res) {
    String id = req.pathParameter("id").orElse("");
    Optional<Job> j = find(id);
    if (j.isEmpty()) {
      json(res, 404, Json.write(Map.of("error", "no job " + id)));
      return;
    }
    json(res, 200, view(j.get()));
  }

  private void handleList(Request req, Response res) {
    int limit;
    try {
      limit = Integer.parseInt(req.query("limit").orElse("50"));
    } catch (NumberFormatException e) {
      limit = -1;
    }
    if (limit < 1 || limit > 1000) {
      json(res, 400, Json.write(Map.of("error", "limit must be 1 to 1000")));
      return;
    }
    String after = req.query("after").orElse(null);
    List<Job> jobs = list(after, limit + 1);
    boolean more = jobs.size() > limit;
    if (more) jobs = jobs.subList(0, limit);
    StringBuilder b = new StringBuilder("{\"jobs\":[");
    for (int i = 0; i < jobs.size(); i++) {
      if (i > 0) b.append(',');
      b.append(view(jobs.get(i)));
    }
    b.append("],\"next\":");
    Json.write(b, more ? jobs.get(jobs.size() - 1).id() : null);
    b.append('}');
    json(res, 200, b.toString());
  }

  private void handleDelete(Request req, Response res) {
    String id = req.pathParameter("id").orElse("");
    Optional<Job> before = store().find(id);
    if (before.isEmpty()) {
      json(res, 404, Json.write(Map.of("error", "no job " + id)));
      return;
    }
    if (before.get().state().isFinal()) {
      json(res, 409, view(before.get()));
      return;
    }
    Optional<Job> after = cancel(id);
    if (after.isEmpty()) {
      json(res, 404, Json.write(Map.of("error", "no job " + id)));
      return;
    }
    Job j = after.get();
    json(res, j.state() == JobState.CANCELLED ? 200 : j.state().isFinal() ? 409 : 202, view(j));
  }

  private static void json(Response res, int status, String body) {
    res.status(status).header("Content-Type", "application/json");
    res.send(body);
  }

  /** The job as JSON, as the HTTP API shows it. */
  public String view(Job j) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", j.id());
    m.put("type", j.type());
    m.put("state", j.state());
    m.put("location", basePath + "/" + j.id());
    m.put("attempts", j.attempts());
    m.put("maxAttempts", j.maxAttempts());
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("done", j.progressDone());
    p.put("total", j.progressTotal() < 0 ? null : j.progressTotal());
    m.put("progress", p);
    m.put("createdAt", j.createdAt());
    m.put("startedAt", j.startedAt().orElse(null));
    m.put("finishedAt", j.finishedAt().orElse(null));
    m.put("runAfter", j.runAfter().orElse(null));
    m.put("inputBytes", j.inputBytes());
    m.put("cancelRequested", j.cancelRequested());
    m.put("result", j.result().map(Json.Raw::new).orElse(null));
    m.put("error", j.error().orElse(null));
    return Json.write(m);
  }

  // ---------------------------------------------------------------- running

  private boolean dispatching() {
    lock.lock();
    try {
      return !draining && !closed;
    } finally {
      lock.unlock();
    }
  }

  /** The dispatcher: claims due jobs while a worker is free, sleeps until something changes. */
  private void dispatch() {
    try {
      while (dispatching()) {
        permits.acquire();
        Optional<JobStore.Claim> claim;
        try {
          wakeups.drainPermits();
          if (!dispatching()) {
            permits.release();
            return;
          }
          Instant now = clock.instant();
          claim = store.claim(types, owner, now, now.plus(lease));
        } catch (RuntimeException e) {
          permits.release();
          LOG.log(System.Logger.Level.ERROR, "jobs: claiming a job failed; retrying in 1s", e);
          wakeups.tryAcquire(1, TimeUnit.SECONDS);
          continue;
        }
        if (claim.isEmpty()) {
          permits.release();
          scheduleWake();
          wakeups.acquire();
          continue;
        }
        if (!startRun(claim.get())) {
          permits.release();
          return;
        }
      }
    } catch (InterruptedException e) {
      // closing
    }
  }

  /**
   * Arms a wake-up for the earliest queued job (waiting for its retry time); wakes at once if one
   * fell due since the claim that found nothing.
   */
  private void scheduleWake() {
    Optional<Instant> next;
    try {
      next = store.nextRunAfter(types);
    } catch (RuntimeException e) {
      next = Optional.of(clock.instant().plusSeconds(1));
    }
    Instant now = clock.instant();
    boolean dueNow = false;
    lock.lock();
    try {
      if (wakeTimer != null) wakeTimer.cancel();
      wakeTimer = null;
      if (next.isPresent() && !draining && !closed) {
        Duration d = Duration.between(now, next.get());
        if (d.isNegative() || d.isZero()) dueNow = true;
        else wakeTimer = scheduler.schedule(wakeups::release, d);
      }
    } finally {
      lock.unlock();
    }
    if (dueNow) wakeups.release();
  }

  /** Starts a claimed job on its own virtual thread; false (job released) if draining. */
  private boolean startRun(JobStore.Claim c) {
    Job job = c.job();
    Run run;
    Work newWork = null;
    lock.lock();
    try {
      if (draining || closed) {
        run = null;
      } else {
        Tracked t = tracked.get(job.id());
        if (t == null) {
          // Inserted by another instance sharing the store, or after a drain was undone.
          t = new Tracked(job.id(), job.type());
          newWork = tracker.begin("job", job.type() + " " + job.id(), t::cancelForStop);
          t.work = newWork;
          tracked.put(job.id(), t);
        }
        run = new Run(this, t, job, c.lease(), Context.root(ticker, scheduler));
        t.run = run;
      }
    } finally {
      lock.unlock();
    }
    if (run == null) {
      try {
        store.finish(
            c.lease(),
            new Outcome.Released(),
            clock.instant(),
            job.progressDone(),
            job.progressTotal());
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "jobs: cannot release " + job.id(), e);
      }
      return false;
    }
    if (job.cancelRequested()) run.context.cancel(CancellationCause.CANCELLED);
    Run r = run;
    Thread.ofVirtual().name("lull-job-" + job.id()).start(() -> execute(r));
    return true;
  }

  private void execute(Run run) {
    Job job = run.job;
    long startedNanos = ticker.read();
    emit(new JobEvent(job.id(), job.type(), JobState.RUNNING, job.attempts(), "started"));
    Map<String, ?> result = null;
    Throwable failure = null;
    run.begin(Thread.currentThread());
    try {
      run.context.checkpoint();
      result = handlers.get(job.type()).process(run);
    } catch (Throwable e) {
      failure = e;
    } finally {
      run.end();
    }
    Instant now = clock.instant();
    String took = Durations.formatApprox(Duration.ofNanos(ticker.read() - startedNanos));
    Outcome outcome;
    JobState state;
    String detail;
    Optional<CancellationCause> cause = run.context.cause();
    String resultJson = null;
    if (failure == null) {
      try {
        resultJson = result == null ? null : Json.write(result);
      } catch (IllegalArgumentException e) {
        failure = new PermanentJobFailure("the result is not JSON: " + e.getMessage(), e);
      }
    }
    if (failure == null) {
      outcome = new Outcome.Succeeded(resultJson);
      state = JobState.SUCCEEDED;
      detail = "succeeded in " + took;
    } else if (cause.isPresent() && cause.get() == CancellationCause.CANCELLED) {
      outcome = new Outcome.Cancelled();
      state = JobState.CANCELLED;
      detail = "cancelled after " + took;
    } else if (cause.isPresent() && cause.get() == CancellationCause.SERVER_STOPPING) {
      outcome = new Outcome.Released();
      state = JobState.QUEUED;
      detail = "released by the server's stop after " + took + "; attempt not counted";
    } else {
      String error = describe(failure);
      if (failure instanceof PermanentJobFailure) {
        outcome = new Outcome.Failed(error);
        state = JobState.FAILED;
        detail = "failed permanently: " + error;
      } else if (job.attempts() >= job.maxAttempts()) {
        outcome = new Outcome.Failed(error);
        state = JobState.FAILED;
        detail = "failed after " + job.attempts() + " attempt(s): " + error;
      } else {
        Duration backoff = backoff(job.attempts());
        outcome = new Outcome.Retry(error, now.plus(backoff));
        state = JobState.QUEUED;
        detail =
            "attempt "
                + job.attempts()
                + " failed: "
                + error
                + "; retry in "
                + Durations.format(backoff);
      }
    }
    boolean recorded;
    try {
      recorded = store.finish(run.lease, outcome, now, run.done.get(), run.total.get());
    } catch (RuntimeException e) {
      LOG.log(
          System.Logger.Level.ERROR,
          "jobs: cannot record the end of job "
              + job.id()
              + " (it stays RUNNING in the store"
              + " and runs again after a restart)",
          e);
      recorded = false;
    }
    if (!recorded) detail = detail + " (not recorded: the lease was lost)";
    logEnd(job, state, detail, failure);
    // Release the worker and, unless the job waits here for its retry, the tracked work.
    Tracked t = run.tracked;
    Work release = null;
    lock.lock();
    try {
      t.run = null;
      boolean keep = recorded && outcome instanceof Outcome.Retry && !draining && !closed;
      if (!keep && tracked.remove(t.id, t)) release = t.work;
      runsChanged.signalAll();
    } finally {
      lock.unlock();
    }
    if (release != null) release.close();
    // Told before the worker is freed, so that the job's next attempt is told after this.
    emit(new JobEvent(job.id(), job.type(), state, job.attempts(), detail));
    permits.release();
    wakeups.release();
  }

  private void logEnd(Job job, JobState state, String detail, Throwable failure) {
    String msg = "job " + job.id() + " (" + job.type() + "): " + detail;
    if (state == JobState.FAILED
        || (state == JobState.QUEUED && failure != null && !isStop(failure))) {
      boolean trace = failure != null && !(failure instanceof PermanentJobFailure);
      LOG.log(System.Logger.Level.WARNING, msg, trace ? failure : null);
    } else {
      LOG.log(System.Logger.Level.INFO, msg);
    }
  }

  private static boolean isStop(Throwable failure) {
    return failure instanceof CancelledException || failure instanceof InterruptedException;
  }

  private static String describe(Throwable e) {
    if (e instanceof PermanentJobFailure) return String.valueOf(e.getMessage());
    String m = e.getMessage();
    return m == null ? e.getClass().getName() : e.getClass().getSimpleName() + ": " + m;
  }

  /** The wait before attempt {@code failed + 1}: initial * 2^(failed - 1), at most maxBackoff. */
  Duration backoff(int failed) {
    Duration d = initialBackoff;
    for (int i = 1; i < failed && d.compareTo(maxBackoff) < 0; i++) d = d.multipliedBy(2);
    return d.compareTo(maxBackoff) > 0 ? maxBackoff : d;
  }

  // ---------------------------------------------------------------- periodic

  private void scheduleTick() {
    lock.lock();
    try {
      if (closed) return;
      tickTimer = scheduler.schedule(this::tick, heartbeat);
    } finally {
      lock.unlock();
    }
  }

  /** Renews leases and records progress of running jobs; reclaims expired leases; sweeps. */
  private void tick() {
    Thread.ofVirtual()
        .name("lull-jobs-heartbeat")
        .start(
            () -> {
              try {
                heartbeat();
              } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "jobs: heartbeat failed", e);
              } finally {
                scheduleTick();
              }
            });
  }

  private void heartbeat() {
    lock.lock();
    try {
      if (closed) return;
    } finally {
      lock.unlock();
    }
    JobStore s = store;
    Instant now = clock.instant();
    for (Tracked t : tracked.values()) {
      Run r = t.run;
      if (r == null) continue;
      JobStore.Renewal renewal = s.renew(r.lease, now.plus(lease), r.done.get(), r.total.get());
      switch (renewal) {
        case RENEWED -> {}
        case CANCEL_REQUESTED -> r.context.cancel(CancellationCause.CANCELLED);
        case LOST -> {
          LOG.log(
              System.Logger.Level.WARNING,
              "jobs: job " + r.job.id() + " lost its lease; stopping this attempt");
          r.context.cancel(CancellationCause.SERVER_STOPPING);
        }
      }
    }
    int n = s.reclaimExpired(now);
    if (n > 0) {
      LOG.log(System.Logger.Level.INFO, "jobs: reclaimed " + n + " job(s) with expired leases");
      wakeups.release();
    }
    boolean sweep;
    lock.lock();
    try {
      sweep = lastSweep == null || Duration.between(lastSweep, now).toHours() >= 1;
    } finally {
      lock.unlock();
    }
    if (sweep) sweep();
  }

  private void sweep() {
    Instant now = clock.instant();
    lock.lock();
    try {
      lastSweep = now;
    } finally {
      lock.unlock();
    }
    int n = store.deleteFinished(now.minus(retention));
    if (n > 0) {
      LOG.log(
          System.Logger.Level.INFO,
          "jobs: deleted "
              + n
              + " job(s) finished more than "
              + Durations.format(retention)
              + " ago");
    }
  }

  private void emit(JobEvent e) {
    LOG.log(System.Logger.Level.DEBUG, e::toString);
    for (JobListener l : listeners) {
      try {
        l.stateChanged(e);
      } catch (RuntimeException x) {
        LOG.log(System.Logger.Level.WARNING, "jobs: listener failed: " + l, x);
      }
    }
  }

  // ---------------------------------------------------------------- per job

  /** A job queued or running here, holding a Work of the tracker. */
  private static final class Tracked {
    final String id;
    final String type;
    volatile Work work;
    volatile Run run;

    Tracked(String id, String type) {
      this.id = id;
      this.type = type;
    }

    /** The Work's cancel action: the stop timeout expired while this job still ran. */
    void cancelForStop() {
      Run r = run;
      if (r != null) r.context.cancel(CancellationCause.SERVER_STOPPING);
    }
  }

  /** One attempt of one job: the handler's {@link JobContext}. */
  private static final class Run implements JobContext {
    final Jobs jobs;
    final Tracked tracked;
    final Job job;
    final Lease lease;
    final Context context;
    final AtomicLong done = new AtomicLong();
    final AtomicLong total = new AtomicLong(-1);
    private final Object threadLock = new Object();
    private Thread thread; // guarded by threadLock; set while the handler runs
    private Map<String, String> params;

    Run(Jobs jobs, Tracked tracked, Job job, Lease lease, Context context) {
      this.jobs = jobs;
      this.tracked = tracked;
      this.job = job;
      this.lease = lease;
      this.context = context;
      this.done.set(job.progressDone());
      this.total.set(job.progressTotal());
      context.onCancel(this::interrupt);
    }

    void begin(Thread t) {
      synchronized (threadLock) {
        thread = t;
      }
      if (context.isCancelled()) t.interrupt();
    }

    void end() {
      synchronized (threadLock) {
        thread = null;
      }
      Thread.interrupted(); // an interrupt meant for the handler must not hit the store
    }

    private void interrupt() {
      synchronized (threadLock) {
        if (thread != null) thread.interrupt();
      }
    }

    @Override
    public String id() {
      return job.id();
    }

    @Override
    public String type() {
      return job.type();
    }

    @Override
    public int attempt() {
      return job.attempts();
    }

    @Override
    public Context context() {
      return context;
    }

    @Override
    public InputStream input() throws IOException {
      return jobs.store.openInput(job.id());
    }

    @Override
    public long inputSize() {
      return job.inputBytes();
    }

    @Override
    public Optional<String> contentType() {
      return job.contentType();
    }

    @Override
    public Optional<String> parameter(String name) {
      synchronized (threadLock) {
        if (params == null) params = parseQuery(job.parameters());
        return Optional.ofNullable(params.get(name));
      }
    }

    @Override
    public void progress(long done, long total) {
      this.done.set(done);
      this.total.set(total);
    }

    @Override
    public Optional<String> checkpoint(String key) {
      return jobs.store.checkpoint(job.id(), key);
    }

    @Override
    public Map<String, String> checkpoints(String prefix) {
      return jobs.store.checkpoints(job.id(), prefix);
    }

    @Override
    public void done(String key, String value) {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(value, "value");
      jobs.store.putCheckpoint(lease, key, value);
    }
  }

  private static Map<String, String> parseQuery(String q) {
    Map<String, String> m = new LinkedHashMap<>();
    if (q == null || q.isEmpty()) return m;
    for (String part : q.split("&")) {
      if (part.isEmpty()) continue;
      int eq = part.indexOf('=');
      String k = eq < 0 ? part : part.substring(0, eq);
      String v = eq < 0 ? "" : part.substring(eq + 1);
      try {
        m.putIfAbsent(
            URLDecoder.decode(k, StandardCharsets.UTF_8),
            URLDecoder.decode(v, StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        // a malformed escape: skip the parameter
      }
    }
    return m;
  }

  // ---------------------------------------------------------------- builder

  /** Builds {@link Jobs}. Every setter documents its default. */
  public static final class Builder {
    private final Map<String, JobHandler> handlers = new LinkedHashMap<>();
    private Path dataDirectory;
    private JobStore store;
    private int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
    private int queueCapacity = 1000;
    private int maxAttempts = 3;
    private Duration initialBackoff = Duration.ofSeconds(1);
    private Duration maxBackoff = Duration.ofMinutes(5);
    private Duration lease = Duration.ofSeconds(30);
    private Duration retention = Duration.ofDays(7);
    private Duration retryAfter = Duration.ofSeconds(5);
    private long maxInputSize = -1;
    private String basePath = "/jobs";
    private Lifecycle lifecycle;
    private ActivityTracker tracker;
    private InstantSource clock = InstantSource.system();
    private Ticker ticker;
    private Scheduler scheduler;
    private final List<JobListener> listeners = new ArrayList<>();

    private Builder() {}

    /**
     * Registers {@code handler} for jobs of {@code type} (a name such as {@code csv}).
     *
     * @throws IllegalArgumentException if {@code type} is empty or already registered
     */
    public Builder handler(String type, JobHandler handler) {
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(handler, "handler");
      if (type.isBlank()) throw new IllegalArgumentException("job type is blank");
      if (handlers.putIfAbsent(type, handler) != null) {
        throw new IllegalArgumentException("job type registered twice: " + type);
      }
      return this;
    }

    /**
     * The directory of the embedded SQLite store (created if missing; one process at a time).
     * Default: {@link Jobs#defaultDataDirectory()}.
     */
    public Builder dataDirectory(Path directory) {
      this.dataDirectory = Objects.requireNonNull(directory, "directory");
      return this;
    }

    /** A store other than the embedded SQLite one; {@link Jobs#close()} closes it. */
    public Builder store(JobStore store) {
      this.store = Objects.requireNonNull(store, "store");
      return this;
    }

    /** How many jobs run at once. Default: one per available processor. */
    public Builder workers(int workers) {
      if (workers < 1) throw new IllegalArgumentException("workers < 1: " + workers);
      this.workers = workers;
      return this;
    }

    /**
     * How many jobs may be queued or running here at once; intake beyond answers 503 with {@code
     * Retry-After}. Default 1000.
     */
    public Builder queueCapacity(int capacity) {
      if (capacity < 1) throw new IllegalArgumentException("queueCapacity < 1: " + capacity);
      this.queueCapacity = capacity;
      return this;
    }

    /** Attempts a job gets before it is {@code FAILED}. Default 3. */
    public Builder maxAttempts(int maxAttempts) {
      if (maxAttempts < 1) throw new IllegalArgumentException("maxAttempts < 1: " + maxAttempts);
      this.maxAttempts = maxAttempts;
      return this;
    }

    /**
     * The wait after a failed attempt: {@code initial}, doubling after each further failure, at
     * most {@code max}. Default 1s and 5m.
     */
    public Builder retryBackoff(Duration initial, Duration max) {
      positive("retryBackoff initial", initial);
      positive("retryBackoff max", max);
      if (max.compareTo(initial) < 0) {
        throw new IllegalArgumentException(
            "retryBackoff max < initial: "
                + Durations.format(max)
                + " < "
                + Durations.format(initial));
      }
      this.initialBackoff = initial;
      this.maxBackoff = max;
      return this;
    }

    /**
     * How long a claimed job stays owned without a heartbeat. Running jobs renew it every third of
     * it (at most every second, which is also how often progress is written to the store). Default
     * 30s.
     */
    public Builder lease(Duration lease) {
      positive("lease", lease);
      this.lease = lease;
      return this;
    }

    /** How long finished jobs are kept before they are deleted. Default 7 days. */
    public Builder retention(Duration retention) {
      positive("retention", retention);
      this.retention = retention;
      return this;
    }

    /** The {@code Retry-After} of a refused intake (rounded to seconds, at least 1). Default 5s. */
    public Builder retryAfter(Duration retryAfter) {
      positive("retryAfter", retryAfter);
      this.retryAfter = retryAfter;
      return this;
    }

    /**
     * Largest input accepted, in bytes; larger gets 413. Default: no limit of its own (the server's
     * {@code maxBodySize} applies, and must be raised for large uploads).
     */
    public Builder maxInputSize(long bytes) {
      if (bytes < 0) throw new IllegalArgumentException("maxInputSize < 0: " + bytes);
      this.maxInputSize = bytes;
      return this;
    }

    /** The path prefix of the HTTP API and of {@code Location}. Default {@code /jobs}. */
    public Builder basePath(String basePath) {
      Objects.requireNonNull(basePath, "basePath");
      if (!basePath.startsWith("/") || basePath.endsWith("/")) {
        throw new IllegalArgumentException(
            "basePath must start and not end with '/': \"" + basePath + "\"");
      }
      this.basePath = basePath;
      return this;
    }

    /**
     * The server's lifecycle: jobs count as its activity, its drain stops the intake, its stop
     * timeout cancels running jobs, its termination closes the jobs. Default: none (then {@link
     * Jobs#close()} is the stop).
     */
    public Builder lifecycle(Lifecycle lifecycle) {
      this.lifecycle = Objects.requireNonNull(lifecycle, "lifecycle");
      return this;
    }

    /** Without a lifecycle: a tracker to report jobs to as work. Ignored with a lifecycle. */
    public Builder tracker(ActivityTracker tracker) {
      this.tracker = Objects.requireNonNull(tracker, "tracker");
      return this;
    }

    /** Wall-clock time for timestamps, retry times and leases. Default: the system clock. */
    public Builder clock(InstantSource clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Monotonic time for job contexts. Default: the tracker's. */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /** Where retry wake-ups and heartbeats are scheduled. Default: the tracker's scheduler. */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** Adds a listener for job state changes. */
    public Builder listener(JobListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /**
     * Builds the jobs service, not started.
     *
     * @throws IllegalStateException if no handler is registered
     */
    public Jobs build() {
      if (handlers.isEmpty()) throw new IllegalStateException("no job handler registered");
      if (store == null && dataDirectory == null) dataDirectory = defaultDataDirectory();
      return new Jobs(this);
    }

    private static void positive(String name, Duration d) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " <= 0: " + Durations.format(d));
      }
    }
  }
}
