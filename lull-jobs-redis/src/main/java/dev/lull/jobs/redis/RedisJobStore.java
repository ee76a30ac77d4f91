package dev.lull.jobs.redis;

import dev.lull.jobs.Job;
import dev.lull.jobs.JobState;
import dev.lull.jobs.spi.InputSink;
import dev.lull.jobs.spi.JobStore;
import dev.lull.jobs.spi.JobStoreException;
import dev.lull.jobs.spi.Lease;
import dev.lull.jobs.spi.NewJob;
import dev.lull.jobs.spi.Outcome;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link JobStore} on Redis Streams, shared by several Lull instances on several machines: each
 * instance is a consumer of one consumer group, jobs of an instance that died are reclaimed with
 * {@code XAUTOCLAIM} once their lease expired, and inputs live in a directory every instance
 * mounts. docs/JOBS.md ("Redis") describes the data layout and what the 202 promise needs of
 * Redis's persistence ({@code appendonly yes}, {@code appendfsync always}).
 *
 * <pre>{@code
 * JobStore store = RedisJobStore.builder("redis://redis.internal:6379")
 *     .inputDirectory(Path.of("/shared/lull/inputs"))   // a mount every instance shares
 *     .open();
 * Jobs jobs = Jobs.builder().store(store).handler("csv", ...).build();
 * }</pre>
 *
 * <h2>Time</h2>
 *
 * Leases and retry times are kept in Redis's clock ({@code TIME} inside the scripts): an instance
 * asks for a lease or a backoff as a duration from its own {@code now}, and the store anchors it on
 * Redis's time, so instances with skewed clocks still agree on who owns a job. The instants the
 * {@code JobStore} methods take are only used for the timestamps users see, and {@code
 * reclaimExpired(now)} compares leases with Redis's time, not with {@code now}.
 */
public final class RedisJobStore implements JobStore {
  private static final System.Logger LOG = System.getLogger("dev.lull.jobs");

  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;
  private final RedisCommands<String, String> redis;
  private final InputDirectory inputs;
  private final String prefix;
  private final String group;
  private final Duration pollInterval;
  private final Duration reclaimIdle;
  private final Duration inputGrace;
  private final InstantSource clock;
  private final String where;
  private final Map<String, String> shas = new ConcurrentHashMap<>();
  private final AtomicInteger rotation = new AtomicInteger();
  private volatile boolean closed;

  private RedisJobStore(Builder b, RedisClient client, StatefulRedisConnection<String, String> c)
      throws IOException {
    this.client = client;
    this.connection = c;
    this.redis = c.sync();
    this.inputs = new InputDirectory(b.inputDirectory);
    this.prefix = b.prefix;
    this.group = b.group;
    this.pollInterval = b.pollInterval;
    this.reclaimIdle = b.reclaimIdle;
    this.inputGrace = b.inputGrace;
    this.clock = b.clock;
    this.where = b.uri.getHost() + ":" + b.uri.getPort() + " (prefix " + b.prefix + ")";
  }

  /** A builder for a store on the Redis at {@code uri} ({@code redis://host:port}). */
  public static Builder builder(String uri) {
    return new Builder(RedisURI.create(uri));
  }

  /** The directory of the inputs. */
  public Path inputDirectory() {
    return inputs.path();
  }

  // ---------------------------------------------------------------- inputs

  @Override
  public InputSink createInput(String jobId) throws IOException {
    checkOpen();
    return inputs.create(jobId);
  }

  @Override
  public InputStream openInput(String jobId) throws IOException {
    return inputs.open(jobId);
  }

  // ---------------------------------------------------------------- rows

  @Override
  public void insert(NewJob job) {
    List<String> args = new ArrayList<>();
    args.add(job.id());
    args.add(job.type());
    args.add(Integer.toString(job.maxAttempts()));
    args.add(Long.toString(job.createdAt().toEpochMilli()));
    args.add(Long.toString(job.inputBytes()));
    args.add(job.parameters());
    job.contentType().ifPresent(args::add);
    long r = eval("insert " + job.id(), Scripts.INSERT, ScriptOutputType.INTEGER, args);
    if (r != 1) throw new JobStoreException("job store: insert " + job.id() + " failed");
  }

  @Override
  public Optional<Job> find(String id) {
    Map<String, String> h = call("find " + id, () -> redis.hgetall(jobKey(id)));
    return h == null || h.isEmpty() ? Optional.empty() : Optional.of(job(h));
  }

  @Override
  public List<Job> list(String afterId, int limit) {
    List<String> ids =
        call(
            "list",
            () ->
                redis.zrangebylex(
                    prefix + ":jobs",
                    Range.from(
                        afterId == null
                            ? Range.Boundary.unbounded()
                            : Range.Boundary.excluding(afterId),
                        Range.Boundary.<String>unbounded()),
                    Limit.create(0, limit)));
    return jobs(ids, null);
  }

  @Override
  public List<Job> unfinished(Set<String> types) {
    Set<String> ids = call("unfinished", () -> redis.smembers(prefix + ":unfinished"));
    List<Job> all = jobs(new ArrayList<>(new TreeSet<>(ids)), types);
    all.removeIf(j -> j.state().isFinal());
    return all;
  }

  /** The jobs of {@code ids} (in that order, skipping missing ones), read in one pipeline. */
  private List<Job> jobs(List<String> ids, Set<String> types) {
    checkOpen();
    List<RedisFuture<Map<String, String>>> futures = new ArrayList<>(ids.size());
    var async = connection.async();
    for (String id : ids) futures.add(async.hgetall(jobKey(id)));
    List<Job> out = new ArrayList<>(ids.size());
    for (RedisFuture<Map<String, String>> f : futures) {
      Map<String, String> h = await("read jobs", f);
      if (h == null || h.isEmpty()) continue;
      Job j = job(h);
      if (types == null || types.contains(j.type())) out.add(j);
    }
    return out;
  }

  private static <T> T await(String what, RedisFuture<T> f) {
    try {
      return f.get(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new JobStoreException("job store: " + what + " interrupted", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new JobStoreException("job store: " + what + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public Optional<Claim> claim(Set<String> types, String owner, Instant now, Instant leaseUntil) {
    if (types.isEmpty()) return Optional.empty();
    List<String> args = new ArrayList<>();
    args.add(owner);
    args.add(Long.toString(Duration.between(now, leaseUntil).toMillis()));
    args.add(Long.toString(now.toEpochMilli()));
    // Each call starts with another type, so that a busy type does not starve the others.
    List<String> ordered = new ArrayList<>(new TreeSet<>(types));
    int start = Math.floorMod(rotation.getAndIncrement(), ordered.size());
    for (int i = 0; i < ordered.size(); i++) args.add(ordered.get((start + i) % ordered.size()));
    List<Object> r = eval("claim", Scripts.CLAIM, ScriptOutputType.MULTI, args);
    if (r == null || r.isEmpty()) return Optional.empty();
    Map<String, String> h = new HashMap<>();
    for (int i = 0; i + 1 < r.size(); i += 2) h.put((String) r.get(i), (String) r.get(i + 1));
    Job job = job(h);
    return Optional.of(new Claim(job, new Lease(job.id(), owner, job.attempts())));
  }

  /**
   * When the dispatcher should look again: now if an entry waits in a stream of {@code types}, the
   * earliest retry time, and at most {@link Builder#pollInterval} from now — other instances insert
   * jobs too, and nothing else tells this one.
   */
  @Override
  public Optional<Instant> nextRunAfter(Set<String> types) {
    Instant now = clock.instant();
    if (types.isEmpty()) return Optional.empty();
    long wait =
        eval("nextRunAfter", Scripts.NEXT, ScriptOutputType.INTEGER, new ArrayList<>(types));
    Instant poll = now.plus(pollInterval);
    if (wait < 0) return Optional.of(poll);
    Instant due = now.plusMillis(wait);
    return Optional.of(due.isBefore(poll) ? due : poll);
  }

  @Override
  public Renewal renew(Lease lease, Instant leaseUntil, long done, long total) {
    long ms = Duration.between(clock.instant(), leaseUntil).toMillis();
    long r =
        eval(
            "renew " + lease.jobId(),
            Scripts.RENEW,
            ScriptOutputType.INTEGER,
            List.of(
                lease.jobId(),
                lease.owner(),
                Integer.toString(lease.attempt()),
                Long.toString(ms),
                Long.toString(done),
                Long.toString(total)));
    return r < 0 ? Renewal.LOST : r == 1 ? Renewal.CANCEL_REQUESTED : Renewal.RENEWED;
  }

  @Override
  public boolean finish(Lease lease, Outcome outcome, Instant now, long done, long total) {
    String kind;
    String text = null;
    long delay = 0;
    long runAfter = 0;
    switch (outcome) {
      case Outcome.Succeeded s -> {
        kind = "succeeded";
        text = s.resultJson();
      }
      case Outcome.Failed f -> {
        kind = "failed";
        text = f.error();
      }
      case Outcome.Retry r -> {
        kind = "retry";
        text = r.error();
        delay = Math.max(0, Duration.between(now, r.runAfter()).toMillis());
        runAfter = r.runAfter().toEpochMilli();
      }
      case Outcome.Released r -> kind = "released";
      case Outcome.Cancelled c -> kind = "cancelled";
    }
    long r =
        eval(
            "finish " + lease.jobId(),
            Scripts.FINISH,
            ScriptOutputType.INTEGER,
            List.of(
                lease.jobId(),
                lease.owner(),
                Integer.toString(lease.attempt()),
                kind,
                Long.toString(now.toEpochMilli()),
                Long.toString(done),
                Long.toString(total),
                text == null ? "" : text,
                text == null ? "0" : "1",
                Long.toString(delay),
                Long.toString(runAfter)));
    if (r == 2) inputs.delete(lease.jobId());
    return r != 0;
  }

  @Override
  public Optional<Job> requestCancel(String id, Instant now) {
    long r =
        eval(
            "cancel " + id,
            Scripts.CANCEL,
            ScriptOutputType.INTEGER,
            List.of(id, Long.toString(now.toEpochMilli())));
    if (r == 0) return Optional.empty();
    if (r == 2) inputs.delete(id);
    return find(id);
  }

  /**
   * Reclaims jobs whose lease expired by Redis's clock (not {@code now}, which only stamps the jobs
   * that become final) and whose stream entry was idle for at least {@link Builder#reclaimIdle}.
   */
  @Override
  public int reclaimExpired(Instant now) {
    List<Object> r =
        eval(
            "reclaim",
            Scripts.RECLAIM,
            ScriptOutputType.MULTI,
            List.of(
                "reclaimer",
                Long.toString(reclaimIdle.toMillis()),
                Long.toString(now.toEpochMilli())));
    for (int i = 1; i < r.size(); i++) inputs.delete((String) r.get(i));
    return ((Number) r.get(0)).intValue();
  }

  @Override
  public Optional<String> checkpoint(String jobId, String key) {
    return Optional.ofNullable(call("checkpoint " + jobId, () -> redis.hget(cpKey(jobId), key)));
  }

  @Override
  public Map<String, String> checkpoints(String jobId, String prefix) {
    Map<String, String> all = call("checkpoints " + jobId, () -> redis.hgetall(cpKey(jobId)));
    Map<String, String> m = new TreeMap<>();
    for (Map.Entry<String, String> e : all.entrySet()) {
      if (e.getKey().startsWith(prefix)) m.put(e.getKey(), e.getValue());
    }
    return m;
  }

  @Override
  public void putCheckpoint(Lease lease, String key, String value) {
    long r =
        eval(
            "checkpoint " + lease.jobId(),
            Scripts.CHECKPOINT,
            ScriptOutputType.INTEGER,
            List.of(lease.jobId(), lease.owner(), Integer.toString(lease.attempt()), key, value));
    if (r != 1) {
      throw new IllegalStateException(
          "job " + lease.jobId() + " attempt " + lease.attempt() + " no longer owns the job");
    }
  }

  /**
   * Deletes final jobs that finished before {@code before}; also consumers of stopped instances,
   * and input files older than the input grace period that belong to no unfinished job.
   */
  @Override
  public int deleteFinished(Instant before) {
    int n = 0;
    while (true) {
      List<Object> ids =
          eval(
              "deleteFinished",
              Scripts.DELETE_FINISHED,
              ScriptOutputType.MULTI,
              List.of(
                  Long.toString(before.toEpochMilli()),
                  Long.toString(Duration.ofDays(1).toMillis())));
      for (Object id : ids) inputs.delete((String) id);
      n += ids.size();
      if (ids.size() < 1000) break;
    }
    Set<String> live = call("unfinished", () -> redis.smembers(prefix + ":unfinished"));
    inputs.sweep(clock.instant().minus(inputGrace), name -> !live.contains(name));
    return n;
  }

  // ---------------------------------------------------------------- plumbing

  private String jobKey(String id) {
    return prefix + ":job:" + id;
  }

  private String cpKey(String id) {
    return prefix + ":cp:" + id;
  }

  private static Job job(Map<String, String> h) {
    JobState state = JobState.valueOf(h.get("state"));
    Optional<Instant> runAfter =
        state == JobState.QUEUED ? instant(h, "run_after") : Optional.empty();
    return new Job(
        h.get("id"),
        h.get("type"),
        state,
        Integer.parseInt(h.getOrDefault("attempts", "0")),
        Integer.parseInt(h.get("max_attempts")),
        Long.parseLong(h.getOrDefault("done", "0")),
        Long.parseLong(h.getOrDefault("total", "-1")),
        Instant.ofEpochMilli(Long.parseLong(h.get("created"))),
        instant(h, "started"),
        instant(h, "finished"),
        runAfter,
        Long.parseLong(h.getOrDefault("input_bytes", "0")),
        Optional.ofNullable(h.get("content_type")),
        h.getOrDefault("parameters", ""),
        Optional.ofNullable(h.get("result")),
        Optional.ofNullable(h.get("error")),
        "1".equals(h.get("cancel")));
  }

  private static Optional<Instant> instant(Map<String, String> h, String field) {
    String v = h.get(field);
    if (v == null || v.isEmpty()) return Optional.empty();
    return Optional.of(Instant.ofEpochMilli(Long.parseLong(v)));
  }

  @SuppressWarnings("unchecked")
  private <T> T eval(String what, String script, ScriptOutputType type, List<String> args) {
    checkOpen();
    String[] argv = new String[args.size() + 2];
    argv[0] = prefix;
    argv[1] = group;
    for (int i = 0; i < args.size(); i++) argv[i + 2] = args.get(i);
    try {
      String sha = shas.computeIfAbsent(script, redis::scriptLoad);
      try {
        return (T) redis.evalsha(sha, type, new String[0], argv);
      } catch (RedisNoScriptException e) {
        // Redis restarted (or SCRIPT FLUSH): load it again.
        sha = redis.scriptLoad(script);
        shas.put(script, sha);
        return (T) redis.evalsha(sha, type, new String[0], argv);
      }
    } catch (RedisException e) {
      throw new JobStoreException("job store: " + what + " failed: " + e.getMessage(), e);
    }
  }

  private <T> T call(String what, java.util.function.Supplier<T> body) {
    checkOpen();
    try {
      return body.get();
    } catch (RedisException e) {
      throw new JobStoreException("job store: " + what + " failed: " + e.getMessage(), e);
    }
  }

  private void checkOpen() {
    if (closed) throw new JobStoreException("job store is closed");
  }

  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    try {
      connection.close();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  @Override
  public String toString() {
    return "RedisJobStore[" + where + ", inputs in " + inputs.path() + "]";
  }

  /** Builds and opens a {@link RedisJobStore}. */
  public static final class Builder {
    private final RedisURI uri;
    private Path inputDirectory;
    private String prefix = "lull";
    private String group = "lull";
    private Duration pollInterval = Duration.ofSeconds(1);
    private Duration reclaimIdle = Duration.ofSeconds(2);
    private Duration inputGrace = Duration.ofHours(1);
    private InstantSource clock = InstantSource.system();
    private Duration timeout = Duration.ofSeconds(10);

    private Builder(RedisURI uri) {
      this.uri = uri;
    }

    /**
     * Where inputs are stored: a directory every instance sharing the store mounts at the same path
     * (NFS, CephFS, a cluster file system...). Required. Large bodies are not put in Redis.
     */
    public Builder inputDirectory(Path dir) {
      this.inputDirectory = Objects.requireNonNull(dir, "dir");
      return this;
    }

    /** The prefix of every key (default {@code lull}): several applications can share a Redis. */
    public Builder prefix(String prefix) {
      if (prefix.isEmpty()) throw new IllegalArgumentException("empty prefix");
      this.prefix = prefix;
      return this;
    }

    /**
     * How often an instance with free workers looks for jobs other instances accepted (default 1s);
     * the instance that accepts a job starts it at once if it can.
     */
    public Builder pollInterval(Duration d) {
      this.pollInterval = positive("pollInterval", d);
      return this;
    }

    /**
     * How long a running job's stream entry must have gone without a renewal before {@code
     * XAUTOCLAIM} takes it to check its lease (default 2s; owners renew every second). A job of a
     * dead instance is reclaimed within its lease plus about this. Zero checks every entry.
     */
    public Builder reclaimIdle(Duration d) {
      if (d.isNegative()) throw new IllegalArgumentException("reclaimIdle must be >= 0");
      this.reclaimIdle = d;
      return this;
    }

    /**
     * How old an input file without an unfinished job must be before a sweep deletes it (default
     * 1h): an instance may be between committing an input and inserting its job.
     */
    public Builder inputGrace(Duration d) {
      this.inputGrace = positive("inputGrace", d);
      return this;
    }

    /** The clock of this instance, to turn lease deadlines into durations. Default: system. */
    public Builder clock(InstantSource clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** How long a Redis command may take before it fails (default 10s). */
    public Builder timeout(Duration d) {
      this.timeout = positive("timeout", d);
      return this;
    }

    private static Duration positive(String name, Duration d) {
      if (d.isNegative() || d.isZero()) throw new IllegalArgumentException(name + " must be > 0");
      return d;
    }

    /**
     * Connects, and warns if Redis does not sync every write ({@code appendonly yes} with {@code
     * appendfsync always}): without it an accepted job may be lost when Redis crashes.
     *
     * @throws JobStoreException if Redis cannot be reached
     */
    public RedisJobStore open() {
      if (inputDirectory == null) throw new IllegalStateException("inputDirectory is required");
      uri.setTimeout(timeout);
      RedisClient client = RedisClient.create(uri);
      StatefulRedisConnection<String, String> c;
      try {
        c = client.connect();
      } catch (RedisException e) {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        throw new JobStoreException(
            "cannot connect to Redis at "
                + uri.getHost()
                + ":"
                + uri.getPort()
                + ": "
                + e.getMessage(),
            e);
      }
      try {
        RedisJobStore store = new RedisJobStore(this, client, c);
        store.checkPersistence();
        return store;
      } catch (IOException e) {
        c.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        throw new UncheckedIOException("cannot create " + inputDirectory, e);
      } catch (RuntimeException e) {
        c.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        throw e;
      }
    }
  }

  /** Logs a warning unless Redis syncs every write; says nothing if CONFIG is not allowed. */
  private void checkPersistence() {
    Map<String, String> cfg;
    try {
      cfg = redis.configGet("appendonly", "appendfsync");
    } catch (RedisException e) {
      redis.ping(); // reachable, CONFIG refused (a managed Redis): say nothing
      return;
    }
    String aof = cfg.getOrDefault("appendonly", "?");
    String fsync = cfg.getOrDefault("appendfsync", "?");
    if (!"yes".equals(aof) || !"always".equals(fsync)) {
      LOG.log(
          System.Logger.Level.WARNING,
          "jobs: Redis at "
              + where
              + " has appendonly "
              + aof
              + ", appendfsync "
              + fsync
              + ": jobs answered 202 may be lost if Redis crashes (set appendonly yes and"
              + " appendfsync always; see docs/JOBS.md)");
    }
  }
}
