package dev.lull.jobs;

import dev.lull.core.Context;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Optional;

/** What a {@link JobHandler} knows of the job it runs, and what it may do with it. */
public interface JobContext {
  /** The job's id, the same in every attempt. */
  String id();

  /** The type the job was accepted as. */
  String type();

  /** Which attempt this is, from 1. */
  int attempt();

  /**
   * Cancelled when the job should stop: by {@code DELETE} (cause {@link
   * dev.lull.core.CancellationCause#CANCELLED}; the job ends {@code CANCELLED}) or by the server's
   * stop timeout ({@link dev.lull.core.CancellationCause#SERVER_STOPPING}; the job goes back to the
   * queue). Cancelling it also interrupts the handler's thread. Check {@link Context#checkpoint()}
   * between steps.
   */
  Context context();

  /**
   * The stored input, from its first byte; each call opens a new stream, which the caller closes.
   * {@link InputStream#skip(long)} seeks, so a resumed job can jump over what it has done.
   */
  InputStream input() throws IOException;

  /** The size of the stored input in bytes. */
  long inputSize();

  /** The {@code Content-Type} of the request that created the job. */
  Optional<String> contentType();

  /** The first value of query parameter {@code name} of the request that created the job. */
  Optional<String> parameter(String name);

  /**
   * Reports progress: {@code done} units of {@code total} ({@code -1} when unknown). Cheap (kept in
   * memory, written to the store about once a second): call it as often as useful.
   */
  void progress(long done, long total);

  /**
   * The value a previous {@link #done(String, String)} recorded under {@code key} for this job, in
   * this attempt or an earlier one.
   */
  Optional<String> checkpoint(String key);

  /** Every checkpoint of this job whose key starts with {@code prefix}, by key. */
  Map<String, String> checkpoints(String prefix);

  /**
   * Records durably that step {@code key} is done with {@code value} (committed to the store before
   * this returns), so that a later attempt finds it with {@link #checkpoint(String)} and skips the
   * step. Recording a key again replaces its value. Keys and values are short strings (a count, an
   * offset, an id), not data.
   *
   * @throws IllegalStateException if this attempt no longer owns the job (it was cancelled and
   *     another attempt may have started)
   */
  void done(String key, String value);

  /**
   * A key for calls to other systems that must happen once per job and step (a payment, an e-mail):
   * {@code "<job id>/<step>"}, the same in every attempt, so the other system can drop a repeat.
   */
  default String idempotencyKey(String step) {
    return id() + "/" + step;
  }
}
