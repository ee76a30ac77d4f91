package dev.lull.jobs.internal;

import dev.lull.jobs.Job;
import dev.lull.jobs.JobState;
import dev.lull.jobs.spi.InputFiles;
import dev.lull.jobs.spi.InputSink;
import dev.lull.jobs.spi.JobStore;
import dev.lull.jobs.spi.JobStoreException;
import dev.lull.jobs.spi.Lease;
import dev.lull.jobs.spi.NewJob;
import dev.lull.jobs.spi.Outcome;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The embedded {@link JobStore}: one SQLite database ({@code jobs.db}, WAL mode, {@code
 * synchronous=FULL}) and one file per input under {@code inputs/}, in one data directory that one
 * process uses at a time ({@code jobs.lock}).
 *
 * <h2>Durability</h2>
 *
 * In WAL mode with {@code synchronous=FULL} SQLite syncs the write-ahead log at every commit, so a
 * committed transaction survives a crash of the process and a loss of power. ({@code NORMAL} would
 * survive a crash of the process only: a power loss could roll back the last commits, and with them
 * jobs already answered with 202.) An input is written to {@code inputs/ID.part}, synced, renamed
 * to {@code inputs/ID}, and the directory synced, before the job's row is inserted; an input
 * without a row (the process died in between) is deleted at the next open.
 *
 * <h2>One process</h2>
 *
 * {@link #open} takes an exclusive lock on {@code jobs.lock} (released by the kernel when the
 * process dies, also on SIGKILL). Holding it proves that no other process runs a job of this
 * directory, so every {@code RUNNING} job found at open belongs to a dead process and is requeued
 * at once, without waiting for its lease. Leases are still written and honoured, as the {@link
 * JobStore} contract asks.
 *
 * <h2>Threads</h2>
 *
 * One connection writes, under a lock; another reads (WAL lets it read while the writer writes).
 * SQLite's native calls pin a virtual thread to its carrier while they run; they are short.
 */
public final class SqliteJobStore implements JobStore {
  private static final System.Logger LOG = System.getLogger("dev.lull.jobs");
  private static final int SCHEMA_VERSION = 1;

  private final Path directory;
  private final Path inputs;
  private final FileChannel lockChannel;
  private final FileLock fileLock;
  private final Connection writer;
  private final Connection reader;
  private final ReentrantLock writeLock = new ReentrantLock();
  private final ReentrantLock readLock = new ReentrantLock();
  private volatile boolean closed;

  private SqliteJobStore(Path directory, FileChannel lockChannel, FileLock fileLock)
      throws SQLException, IOException {
    this.directory = directory;
    this.inputs = directory.resolve("inputs");
    this.lockChannel = lockChannel;
    this.fileLock = fileLock;
    Files.createDirectories(inputs);
    String url = "jdbc:sqlite:" + directory.resolve("jobs.db");
    this.writer = DriverManager.getConnection(url);
    try (Statement s = writer.createStatement()) {
      s.execute("PRAGMA busy_timeout=10000");
      try (ResultSet rs = s.executeQuery("PRAGMA journal_mode=WAL")) {
        String mode = rs.next() ? rs.getString(1) : "?";
        if (!"wal".equalsIgnoreCase(mode)) {
          throw new SQLException("could not enable WAL mode: journal_mode=" + mode);
        }
      }
      s.execute("PRAGMA synchronous=FULL");
      s.execute("PRAGMA foreign_keys=ON");
    }
    migrate();
    writer.setAutoCommit(false);
    this.reader = DriverManager.getConnection(url);
    try (Statement s = reader.createStatement()) {
      s.execute("PRAGMA busy_timeout=10000");
      s.execute("PRAGMA query_only=1");
    }
  }

  /**
   * Opens (creating if needed) the store in {@code directory}, takes its lock, requeues the jobs
   * that a dead process left {@code RUNNING} and deletes inputs without a job.
   *
   * @throws JobStoreException if another process uses the directory, or it cannot be opened
   */
  public static SqliteJobStore open(Path directory, Instant now) {
    FileChannel ch = null;
    try {
      Files.createDirectories(directory);
      ch =
          FileChannel.open(
              directory.resolve("jobs.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        throw new JobStoreException(
            "job data directory "
                + directory
                + " is in use by another process (lock on jobs.lock held)");
      }
      SqliteJobStore store = new SqliteJobStore(directory, ch, lock);
      try {
        int n = store.reclaim(now, true);
        if (n > 0) {
          LOG.log(
              System.Logger.Level.INFO,
              "jobs: " + n + " job(s) left running by a previous process are queued again");
        }
        store.sweepInputs();
      } catch (RuntimeException e) {
        store.close();
        throw e;
      }
      return store;
    } catch (IOException | SQLException e) {
      closeQuietly(ch);
      throw new JobStoreException("cannot open job store in " + directory + ": " + e, e);
    } catch (RuntimeException e) {
      closeQuietly(ch);
      throw e;
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) return;
    try {
      c.close();
    } catch (Exception ignored) {
      // closing after a failure
    }
  }

  /** The data directory. */
  public Path directory() {
    return directory;
  }

  private void migrate() throws SQLException {
    try (Statement s = writer.createStatement()) {
      int version;
      try (ResultSet rs = s.executeQuery("PRAGMA user_version")) {
        version = rs.next() ? rs.getInt(1) : 0;
      }
      if (version > SCHEMA_VERSION) {
        throw new SQLException(
            "jobs.db has schema version "
                + version
                + ", newer than this Lull knows: "
                + SCHEMA_VERSION);
      }
      if (version == SCHEMA_VERSION) return;
      s.execute(
          """
          CREATE TABLE IF NOT EXISTS jobs (
            id TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL,
            progress_done INTEGER NOT NULL DEFAULT 0,
            progress_total INTEGER NOT NULL DEFAULT -1,
            created_at INTEGER NOT NULL,
            started_at INTEGER,
            finished_at INTEGER,
            run_after INTEGER NOT NULL,
            input_bytes INTEGER NOT NULL,
            content_type TEXT,
            parameters TEXT NOT NULL DEFAULT '',
            result TEXT,
            error TEXT,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            owner TEXT,
            lease_until INTEGER
          )""");
      s.execute("CREATE INDEX IF NOT EXISTS jobs_due ON jobs(state, run_after, id)");
      s.execute(
          """
          CREATE TABLE IF NOT EXISTS checkpoints (
            job_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (job_id, key)
          ) WITHOUT ROWID""");
      s.execute("PRAGMA user_version=" + SCHEMA_VERSION);
    }
  }

  // ---------------------------------------------------------------- inputs

  @Override
  public InputSink createInput(String jobId) throws IOException {
    checkOpen();
    return InputFiles.create(inputs, jobId);
  }

  @Override
  public InputStream openInput(String jobId) throws IOException {
    Path p = inputs.resolve(InputFiles.checkId(jobId));
    if (!Files.exists(p)) throw new FileNotFoundException("no input for job " + jobId);
    return new FileInputStream(p.toFile()); // its skip() seeks
  }

  private void deleteInput(String jobId) {
    try {
      Files.deleteIfExists(InputFiles.path(inputs, jobId));
    } catch (IOException e) {
      LOG.log(System.Logger.Level.WARNING, "jobs: cannot delete the input of " + jobId, e);
    }
  }

  /** Deletes partial uploads and inputs whose job is final or unknown. */
  private void sweepInputs() {
    Set<String> live = new HashSet<>();
    for (Job j : unfinished(null)) live.add(j.id());
    int n = 0;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(inputs)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        if (name.endsWith(".part") || !live.contains(name)) {
          Files.deleteIfExists(p);
          n++;
        }
      }
    } catch (IOException e) {
      LOG.log(System.Logger.Level.WARNING, "jobs: cannot sweep " + inputs, e);
    }
    if (n > 0) {
      int count = n;
      LOG.log(System.Logger.Level.DEBUG, () -> "jobs: deleted " + count + " stale input file(s)");
    }
  }

  // ---------------------------------------------------------------- rows

  private static final String COLUMNS =
      "id, type, state, attempts, max_attempts, progress_done, progress_total, created_at,"
          + " started_at, finished_at, run_after, input_bytes, content_type, parameters, result,"
          + " error, cancel_requested";

  private static Job row(ResultSet rs) throws SQLException {
    JobState state = JobState.valueOf(rs.getString(3));
    long created = rs.getLong(8);
    long runAfter = rs.getLong(11);
    return new Job(
        rs.getString(1),
        rs.getString(2),
        state,
        rs.getInt(4),
        rs.getInt(5),
        rs.getLong(6),
        rs.getLong(7),
        Instant.ofEpochMilli(created),
        instant(rs, 9),
        instant(rs, 10),
        state == JobState.QUEUED && runAfter > created
            ? Optional.of(Instant.ofEpochMilli(runAfter))
            : Optional.empty(),
        rs.getLong(12),
        Optional.ofNullable(rs.getString(13)),
        rs.getString(14),
        Optional.ofNullable(rs.getString(15)),
        Optional.ofNullable(rs.getString(16)),
        rs.getInt(17) != 0);
  }

  private static Optional<Instant> instant(ResultSet rs, int column) throws SQLException {
    long v = rs.getLong(column);
    return rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(v));
  }

  @Override
  public void insert(NewJob job) {
    write(
        "insert " + job.id(),
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO jobs (id, type, state, max_attempts, created_at, run_after,"
                      + " input_bytes, content_type, parameters) VALUES (?, ?, 'QUEUED', ?, ?, ?, ?,"
                      + " ?, ?)")) {
            long created = job.createdAt().toEpochMilli();
            ps.setString(1, job.id());
            ps.setString(2, job.type());
            ps.setInt(3, job.maxAttempts());
            ps.setLong(4, created);
            ps.setLong(5, created);
            ps.setLong(6, job.inputBytes());
            ps.setString(7, job.contentType().orElse(null));
            ps.setString(8, job.parameters());
            ps.executeUpdate();
          }
          return null;
        });
  }

  @Override
  public Optional<Job> find(String id) {
    return read(
        "find " + id,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("SELECT " + COLUMNS + " FROM jobs WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? Optional.of(row(rs)) : Optional.<Job>empty();
            }
          }
        });
  }

  @Override
  public List<Job> list(String afterId, int limit) {
    return read(
        "list",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT " + COLUMNS + " FROM jobs WHERE id > ? ORDER BY id LIMIT ?")) {
            ps.setString(1, afterId == null ? "" : afterId);
            ps.setInt(2, limit);
            return rows(ps);
          }
        });
  }

  @Override
  public List<Job> unfinished(Set<String> types) {
    return read(
        "unfinished",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT "
                      + COLUMNS
                      + " FROM jobs WHERE state IN ('QUEUED', 'RUNNING') ORDER BY id")) {
            List<Job> all = rows(ps);
            if (types == null) return all;
            all.removeIf(j -> !types.contains(j.type()));
            return all;
          }
        });
  }

  private static List<Job> rows(PreparedStatement ps) throws SQLException {
    List<Job> list = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) list.add(row(rs));
    }
    return list;
  }

  @Override
  public Optional<Claim> claim(Set<String> types, String owner, Instant now, Instant leaseUntil) {
    if (types.isEmpty()) return Optional.empty();
    return write(
        "claim",
        c -> {
          String id;
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT id FROM jobs WHERE state = 'QUEUED' AND run_after <= ? AND type IN ("
                      + placeholders(types.size())
                      + ") ORDER BY run_after, id LIMIT 1")) {
            ps.setLong(1, now.toEpochMilli());
            int i = 2;
            for (String t : types) ps.setString(i++, t);
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) return Optional.<Claim>empty();
              id = rs.getString(1);
            }
          }
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE jobs SET state = 'RUNNING', attempts = attempts + 1, owner = ?,"
                      + " lease_until = ?, started_at = ? WHERE id = ?")) {
            ps.setString(1, owner);
            ps.setLong(2, leaseUntil.toEpochMilli());
            ps.setLong(3, now.toEpochMilli());
            ps.setString(4, id);
            ps.executeUpdate();
          }
          Job job = findIn(c, id).orElseThrow();
          return Optional.of(new Claim(job, new Lease(id, owner, job.attempts())));
        });
  }

  private static String placeholders(int n) {
    return String.join(", ", java.util.Collections.nCopies(n, "?"));
  }

  private static Optional<Job> findIn(Connection c, String id) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT " + COLUMNS + " FROM jobs WHERE id = ?")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(row(rs)) : Optional.empty();
      }
    }
  }

  @Override
  public Optional<Instant> nextRunAfter(Set<String> types) {
    if (types.isEmpty()) return Optional.empty();
    return read(
        "nextRunAfter",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT MIN(run_after) FROM jobs WHERE state = 'QUEUED' AND type IN ("
                      + placeholders(types.size())
                      + ")")) {
            int i = 1;
            for (String t : types) ps.setString(i++, t);
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) return Optional.<Instant>empty();
              long v = rs.getLong(1);
              return rs.wasNull()
                  ? Optional.<Instant>empty()
                  : Optional.of(Instant.ofEpochMilli(v));
            }
          }
        });
  }

  private static final String OWNED =
      " WHERE id = ? AND state = 'RUNNING' AND owner = ? AND attempts = ?";

  private static int setLease(PreparedStatement ps, int i, Lease lease) throws SQLException {
    ps.setString(i, lease.jobId());
    ps.setString(i + 1, lease.owner());
    ps.setInt(i + 2, lease.attempt());
    return i + 3;
  }

  @Override
  public Renewal renew(Lease lease, Instant leaseUntil, long done, long total) {
    return write(
        "renew " + lease.jobId(),
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE jobs SET lease_until = ?, progress_done = ?, progress_total = ?"
                      + OWNED)) {
            ps.setLong(1, leaseUntil.toEpochMilli());
            ps.setLong(2, done);
            ps.setLong(3, total);
            setLease(ps, 4, lease);
            if (ps.executeUpdate() != 1) return Renewal.LOST;
          }
          try (PreparedStatement ps =
              c.prepareStatement("SELECT cancel_requested FROM jobs WHERE id = ?")) {
            ps.setString(1, lease.jobId());
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() && rs.getInt(1) != 0 ? Renewal.CANCEL_REQUESTED : Renewal.RENEWED;
            }
          }
        });
  }

  @Override
  public boolean finish(Lease lease, Outcome outcome, Instant now, long done, long total) {
    boolean[] isFinal = {false};
    boolean ok =
        write(
            "finish " + lease.jobId(),
            c -> {
              boolean cancelRequested;
              try (PreparedStatement ps =
                  c.prepareStatement("SELECT cancel_requested FROM jobs" + OWNED)) {
                setLease(ps, 1, lease);
                try (ResultSet rs = ps.executeQuery()) {
                  if (!rs.next()) return false;
                  cancelRequested = rs.getInt(1) != 0;
                }
              }
              Outcome o = outcome;
              if (o instanceof Outcome.Released && cancelRequested) o = new Outcome.Cancelled();
              long t = now.toEpochMilli();
              String sql;
              switch (o) {
                case Outcome.Succeeded s -> {
                  sql =
                      "UPDATE jobs SET state = 'SUCCEEDED', result = ?, error = NULL, finished_at ="
                          + " ?, owner = NULL, lease_until = NULL"
                          + OWNED;
                  try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setString(1, s.resultJson());
                    ps.setLong(2, t);
                    setLease(ps, 3, lease);
                    ps.executeUpdate();
                  }
                  isFinal[0] = true;
                }
                case Outcome.Failed f -> {
                  sql =
                      "UPDATE jobs SET state = 'FAILED', error = ?, finished_at = ?, owner = NULL,"
                          + " lease_until = NULL"
                          + OWNED;
                  try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setString(1, f.error());
                    ps.setLong(2, t);
                    setLease(ps, 3, lease);
                    ps.executeUpdate();
                  }
                  isFinal[0] = true;
                }
                case Outcome.Retry r -> {
                  sql =
                      "UPDATE jobs SET state = 'QUEUED', error = ?, run_after = ?, owner = NULL,"
                          + " lease_until = NULL"
                          + OWNED;
                  try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setString(1, r.error());
                    ps.setLong(2, r.runAfter().toEpochMilli());
                    setLease(ps, 3, lease);
                    ps.executeUpdate();
                  }
                }
                case Outcome.Released r -> {
                  sql =
                      "UPDATE jobs SET state = 'QUEUED', attempts = attempts - 1, run_after = ?,"
                          + " owner = NULL, lease_until = NULL"
                          + OWNED;
                  try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setLong(1, t);
                    setLease(ps, 2, lease);
                    ps.executeUpdate();
                  }
                }
                case Outcome.Cancelled x -> {
                  sql =
                      "UPDATE jobs SET state = 'CANCELLED', finished_at = ?, owner = NULL,"
                          + " lease_until = NULL"
                          + OWNED;
                  try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setLong(1, t);
                    setLease(ps, 2, lease);
                    ps.executeUpdate();
                  }
                  isFinal[0] = true;
                }
              }
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "UPDATE jobs SET progress_done = ?, progress_total = ? WHERE id = ?")) {
                ps.setLong(1, done);
                ps.setLong(2, total);
                ps.setString(3, lease.jobId());
                ps.executeUpdate();
              }
              if (isFinal[0]) deleteCheckpoints(c, lease.jobId());
              return true;
            });
    if (ok && isFinal[0]) deleteInput(lease.jobId());
    return ok;
  }

  private static void deleteCheckpoints(Connection c, String id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("DELETE FROM checkpoints WHERE job_id = ?")) {
      ps.setString(1, id);
      ps.executeUpdate();
    }
  }

  @Override
  public Optional<Job> requestCancel(String id, Instant now) {
    boolean[] cancelledNow = {false};
    Optional<Job> job =
        write(
            "cancel " + id,
            c -> {
              Optional<Job> j = findIn(c, id);
              if (j.isEmpty()) return j;
              switch (j.get().state()) {
                case QUEUED -> {
                  try (PreparedStatement ps =
                      c.prepareStatement(
                          "UPDATE jobs SET state = 'CANCELLED', finished_at = ?, cancel_requested ="
                              + " 1 WHERE id = ? AND state = 'QUEUED'")) {
                    ps.setLong(1, now.toEpochMilli());
                    ps.setString(2, id);
                    ps.executeUpdate();
                  }
                  deleteCheckpoints(c, id);
                  cancelledNow[0] = true;
                }
                case RUNNING -> {
                  try (PreparedStatement ps =
                      c.prepareStatement(
                          "UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state ="
                              + " 'RUNNING'")) {
                    ps.setString(1, id);
                    ps.executeUpdate();
                  }
                }
                default -> {
                  return j;
                }
              }
              return findIn(c, id);
            });
    if (cancelledNow[0]) deleteInput(id);
    return job;
  }

  @Override
  public int reclaimExpired(Instant now) {
    return reclaim(now, false);
  }

  /**
   * Reclaims RUNNING jobs whose lease expired; all of them if {@code all} (their owner is dead).
   */
  private int reclaim(Instant now, boolean all) {
    List<String> finals = new ArrayList<>();
    int n =
        write(
            "reclaim",
            c -> {
              List<Job> stale = new ArrayList<>();
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "SELECT "
                          + COLUMNS
                          + " FROM jobs WHERE state = 'RUNNING'"
                          + (all ? "" : " AND lease_until < ?"))) {
                if (!all) ps.setLong(1, now.toEpochMilli());
                stale.addAll(rows(ps));
              }
              long t = now.toEpochMilli();
              for (Job j : stale) {
                String error =
                    "attempt "
                        + j.attempts()
                        + " did not finish: the process running it ended or lost its lease";
                String state;
                if (j.cancelRequested()) state = "CANCELLED";
                else if (j.attempts() >= j.maxAttempts()) state = "FAILED";
                else state = "QUEUED";
                try (PreparedStatement ps =
                    c.prepareStatement(
                        "UPDATE jobs SET state = ?, error = ?, run_after = ?, finished_at = ?,"
                            + " owner = NULL, lease_until = NULL WHERE id = ?")) {
                  ps.setString(1, state);
                  ps.setString(2, error);
                  ps.setLong(3, t);
                  if (state.equals("QUEUED")) ps.setNull(4, Types.INTEGER);
                  else ps.setLong(4, t);
                  ps.setString(5, j.id());
                  ps.executeUpdate();
                }
                if (!state.equals("QUEUED")) {
                  deleteCheckpoints(c, j.id());
                  finals.add(j.id());
                }
              }
              return stale.size();
            });
    for (String id : finals) deleteInput(id);
    return n;
  }

  @Override
  public Optional<String> checkpoint(String jobId, String key) {
    return read(
        "checkpoint " + jobId,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("SELECT value FROM checkpoints WHERE job_id = ? AND key = ?")) {
            ps.setString(1, jobId);
            ps.setString(2, key);
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? Optional.of(rs.getString(1)) : Optional.<String>empty();
            }
          }
        });
  }

  @Override
  public Map<String, String> checkpoints(String jobId, String prefix) {
    return read(
        "checkpoints " + jobId,
        c -> {
          Map<String, String> m = new LinkedHashMap<>();
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT key, value FROM checkpoints WHERE job_id = ? AND substr(key, 1, ?) = ?"
                      + " ORDER BY key")) {
            ps.setString(1, jobId);
            ps.setInt(2, prefix.length());
            ps.setString(3, prefix);
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) m.put(rs.getString(1), rs.getString(2));
            }
          }
          return m;
        });
  }

  @Override
  public void putCheckpoint(Lease lease, String key, String value) {
    boolean ok =
        write(
            "checkpoint " + lease.jobId(),
            c -> {
              try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM jobs" + OWNED)) {
                setLease(ps, 1, lease);
                try (ResultSet rs = ps.executeQuery()) {
                  if (!rs.next()) return false;
                }
              }
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "INSERT INTO checkpoints (job_id, key, value) VALUES (?, ?, ?)"
                          + " ON CONFLICT (job_id, key) DO UPDATE SET value = excluded.value")) {
                ps.setString(1, lease.jobId());
                ps.setString(2, key);
                ps.setString(3, value);
                ps.executeUpdate();
              }
              return true;
            });
    if (!ok) {
      throw new IllegalStateException(
          "job " + lease.jobId() + " attempt " + lease.attempt() + " no longer owns the job");
    }
  }

  @Override
  public int deleteFinished(Instant before) {
    List<String> ids =
        write(
            "deleteFinished",
            c -> {
              List<String> found = new ArrayList<>();
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "SELECT id FROM jobs WHERE state IN ('SUCCEEDED', 'FAILED', 'CANCELLED') AND"
                          + " finished_at < ?")) {
                ps.setLong(1, before.toEpochMilli());
                try (ResultSet rs = ps.executeQuery()) {
                  while (rs.next()) found.add(rs.getString(1));
                }
              }
              for (String id : found) {
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM jobs WHERE id = ?")) {
                  ps.setString(1, id);
                  ps.executeUpdate();
                }
                deleteCheckpoints(c, id);
              }
              return found;
            });
    for (String id : ids) deleteInput(id);
    return ids.size();
  }

  // ---------------------------------------------------------------- plumbing

  @FunctionalInterface
  private interface Sql<T> {
    T run(Connection c) throws SQLException;
  }

  private <T> T write(String what, Sql<T> body) {
    writeLock.lock();
    try {
      checkOpen();
      try {
        T result = body.run(writer);
        writer.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        try {
          writer.rollback();
        } catch (SQLException r) {
          e.addSuppressed(r);
        }
        if (e instanceof RuntimeException re) throw re;
        throw new JobStoreException("job store: " + what + " failed: " + e.getMessage(), e);
      }
    } finally {
      writeLock.unlock();
    }
  }

  private <T> T read(String what, Sql<T> body) {
    readLock.lock();
    try {
      checkOpen();
      return body.run(reader);
    } catch (SQLException e) {
      throw new JobStoreException("job store: " + what + " failed: " + e.getMessage(), e);
    } finally {
      readLock.unlock();
    }
  }

  private void checkOpen() {
    if (closed) throw new JobStoreException("job store is closed");
  }

  @Override
  public void close() {
    writeLock.lock();
    readLock.lock();
    try {
      if (closed) return;
      closed = true;
      closeQuietly(reader);
      closeQuietly(writer);
      try {
        fileLock.release();
      } catch (IOException ignored) {
        // the channel closes next anyway
      }
      closeQuietly(lockChannel);
    } finally {
      readLock.unlock();
      writeLock.unlock();
    }
  }

  @Override
  public String toString() {
    return "SqliteJobStore[" + directory + "]";
  }
}
