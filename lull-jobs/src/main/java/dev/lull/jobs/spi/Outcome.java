package dev.lull.jobs.spi;

import java.time.Instant;

/** How an attempt ended, as {@link JobStore#finish} records it. */
public sealed interface Outcome {
  /** The handler returned: the job is {@code SUCCEEDED} with {@code resultJson} (may be null). */
  record Succeeded(String resultJson) implements Outcome {}

  /** The last attempt failed, or failed permanently: the job is {@code FAILED}. */
  record Failed(String error) implements Outcome {}

  /**
   * The attempt failed and attempts are left: {@code QUEUED} again, not before {@code runAfter}.
   */
  record Retry(String error, Instant runAfter) implements Outcome {}

  /**
   * A graceful stop cut the attempt: {@code QUEUED} again at once, and the attempt is not counted
   * (the attempt count goes back by one).
   */
  record Released() implements Outcome {}

  /** {@code DELETE} cancelled the running job: {@code CANCELLED}. */
  record Cancelled() implements Outcome {}
}
