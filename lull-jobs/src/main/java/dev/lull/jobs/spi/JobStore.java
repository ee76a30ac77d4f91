package dev.lull.jobs.spi;

import dev.lull.jobs.Job;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where jobs, their inputs and their checkpoints live. {@code dev.lull.jobs.Jobs} runs the jobs;
 * the store keeps the truth, so that another process (the next instance, or another machine) can
 * take up what one left.
 *
 * <h2>Contract</h2>
 *
 * <ul>
 *   <li><b>Durable before it returns.</b> {@link InputSink#commit()}, {@link #insert}, {@link
 *       #finish} and {@link #putCheckpoint} return only once what they wrote survives a crash of
 *       the process (and, as far as the store can promise, of the machine). The {@code 202} of an
 *       upload is sent after {@code commit()} and {@code insert()} returned.
 *   <li><b>Claims with leases.</b> {@link #claim} moves one due {@code QUEUED} job to {@code
 *       RUNNING} for an owner until a lease deadline, counting one attempt, atomically: two workers
 *       never claim the same attempt. The owner renews the lease ({@link #renew}) while the attempt
 *       runs. {@link #reclaimExpired} returns jobs whose lease expired (their instance died) to
 *       {@code QUEUED}, the attempt counted — or to {@code FAILED} if it was the last, or to {@code
 *       CANCELLED} if a cancel was requested.
 *   <li><b>Fencing.</b> Every write about a running job carries its {@link Lease}; it is applied
 *       only while the job is {@code RUNNING} under that owner and attempt, and returns false (or
 *       throws, for {@code putCheckpoint}) otherwise.
 *   <li><b>Final states stay.</b> Once {@code SUCCEEDED}, {@code FAILED} or {@code CANCELLED}, a
 *       job never changes again; its input and checkpoints may be deleted then.
 *   <li><b>Threads.</b> Every method is thread-safe and may block (I/O); Lull calls them from
 *       virtual threads.
 *   <li><b>Failures.</b> A store that cannot read or write throws {@link JobStoreException}.
 * </ul>
 *
 * The embedded default is SQLite ({@code Jobs.builder().dataDirectory(dir)}); docs/JOBS.md says
 * what a Redis Streams store needs to meet this contract.
 */
public interface JobStore extends AutoCloseable {
  /** Starts writing the input of job {@code jobId}; see {@link InputSink}. */
  InputSink createInput(String jobId) throws IOException;

  /**
   * The committed input of job {@code jobId}, from its start; {@link InputStream#skip(long)} should
   * seek.
   *
   * @throws java.io.FileNotFoundException if there is none (the job is final and it was deleted)
   */
  InputStream openInput(String jobId) throws IOException;

  /** Inserts a {@code QUEUED} job whose input was committed; durable when this returns. */
  void insert(NewJob job);

  /** The job {@code id}, if the store has it. */
  Optional<Job> find(String id);

  /** Up to {@code limit} jobs with an id greater than {@code afterId} (all if null), by id. */
  List<Job> list(String afterId, int limit);

  /** Every job not final ({@code QUEUED} or {@code RUNNING}) of one of {@code types}, by id. */
  List<Job> unfinished(Set<String> types);

  /**
   * Claims the due {@code QUEUED} job of one of {@code types} that has waited longest (smallest
   * {@code runAfter}, then smallest id): {@code RUNNING}, attempts + 1, owned by {@code owner}
   * until {@code leaseUntil}.
   *
   * @return the job as claimed, and its lease; empty if none is due
   */
  Optional<Claim> claim(Set<String> types, String owner, Instant now, Instant leaseUntil);

  /**
   * The earliest {@code runAfter} among {@code QUEUED} jobs of {@code types}, due or not: when the
   * dispatcher should look again. (Due ones included, so that a job that fell due between a claim
   * and this call is not missed.)
   */
  Optional<Instant> nextRunAfter(Set<String> types);

  /**
   * Extends the lease and records progress.
   *
   * @return {@link Renewal#LOST} if the job is no longer running under this lease; {@link
   *     Renewal#CANCEL_REQUESTED} if it is, and a cancel was requested (possibly through another
   *     instance)
   */
  Renewal renew(Lease lease, Instant leaseUntil, long done, long total);

  /** What {@link #renew} found. */
  enum Renewal {
    /** The lease was extended. */
    RENEWED,
    /** The lease was extended, and {@link #requestCancel} was called for the job. */
    CANCEL_REQUESTED,
    /** The job is no longer running under this lease; the attempt should stop. */
    LOST
  }

  /**
   * Records how the attempt ended, with its last progress. A final outcome deletes the job's input
   * and checkpoints.
   *
   * @return false if the lease was lost and nothing was written
   */
  boolean finish(Lease lease, Outcome outcome, Instant now, long done, long total);

  /**
   * Cancels job {@code id}: a {@code QUEUED} job becomes {@code CANCELLED} at once; a {@code
   * RUNNING} one is marked {@code cancelRequested} (its worker is told, and a reclaim cancels it);
   * a final one is left as it is.
   *
   * @return the job after the call; empty if there is none
   */
  Optional<Job> requestCancel(String id, Instant now);

  /**
   * Returns jobs whose lease expired before {@code now} to {@code QUEUED} (or {@code FAILED} /
   * {@code CANCELLED}, see the class comment).
   *
   * @return how many jobs were reclaimed
   */
  int reclaimExpired(Instant now);

  /** The checkpoint {@code key} of job {@code jobId}. */
  Optional<String> checkpoint(String jobId, String key);

  /** The checkpoints of job {@code jobId} whose key starts with {@code prefix}. */
  Map<String, String> checkpoints(String jobId, String prefix);

  /**
   * Records checkpoint {@code key} = {@code value} for the job of {@code lease}, durably.
   *
   * @throws IllegalStateException if the lease was lost
   */
  void putCheckpoint(Lease lease, String key, String value);

  /**
   * Deletes final jobs that finished before {@code before}, with their inputs and checkpoints.
   *
   * @return how many were deleted
   */
  int deleteFinished(Instant before);

  /** Closes the store; jobs it holds stay for the next instance. Idempotent. */
  @Override
  void close();

  /**
   * A claimed job and its lease.
   *
   * @param job the job as claimed ({@code RUNNING})
   * @param lease the lease to present in later writes
   */
  record Claim(Job job, Lease lease) {}
}
