package dev.lull.jobs;

/**
 * The states of a job. Every constant says which states it moves to; {@code SUCCEEDED}, {@code
 * FAILED} and {@code CANCELLED} are final.
 */
public enum JobState {
  /**
   * Stored with its input, waiting for a worker (or for its retry time after a failed attempt).
   * Moves to {@link #RUNNING} when a worker claims it, to {@link #CANCELLED} on {@code DELETE}.
   */
  QUEUED,
  /**
   * A worker runs it. Moves to {@link #SUCCEEDED}; to {@link #QUEUED} after a failed attempt with
   * attempts left, when a graceful stop cancelled it (that attempt is not counted), or when the
   * instance running it died (that attempt is counted); to {@link #FAILED} after the last attempt;
   * to {@link #CANCELLED} on {@code DELETE}.
   */
  RUNNING,
  /** Done; its result is stored. Final. */
  SUCCEEDED,
  /** Its last attempt failed, or it failed permanently; the last error is stored. Final. */
  FAILED,
  /** Cancelled by {@code DELETE} before it finished. Final. */
  CANCELLED;

  /** Whether the job is finished: {@code SUCCEEDED}, {@code FAILED} or {@code CANCELLED}. */
  public boolean isFinal() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED;
  }
}
