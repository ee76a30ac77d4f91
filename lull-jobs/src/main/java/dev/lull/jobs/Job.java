package dev.lull.jobs;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What the store knows of one job, as {@code GET /jobs/{id}} shows it. An immutable snapshot:
 * progress of a running job is the last value its worker reported.
 *
 * @param id the job's id: 26 characters, sortable by creation time
 * @param type the name its {@link JobHandler} was registered under
 * @param state where it is in its life
 * @param attempts attempts started, the running one included; an attempt cut by a graceful stop is
 *     not counted, one whose process died is
 * @param maxAttempts after this many failed attempts the job is {@link JobState#FAILED}
 * @param progressDone units done, as the handler last reported (0 before any report)
 * @param progressTotal units in all, or -1 while unknown
 * @param createdAt when the job was accepted (its input stored)
 * @param startedAt when its last attempt started
 * @param finishedAt when it reached a final state
 * @param runAfter while {@code QUEUED} after a failed attempt: not before this instant
 * @param inputBytes the size of the stored input
 * @param contentType the {@code Content-Type} of the request that created it
 * @param parameters the query string of the request that created it, raw ({@code a=1&b=2})
 * @param result the result as JSON text, once {@code SUCCEEDED}
 * @param error the last error: set after a failed attempt, also while the job waits for its retry
 * @param cancelRequested whether {@code DELETE} asked a running job to stop
 */
public record Job(
    String id,
    String type,
    JobState state,
    int attempts,
    int maxAttempts,
    long progressDone,
    long progressTotal,
    Instant createdAt,
    Optional<Instant> startedAt,
    Optional<Instant> finishedAt,
    Optional<Instant> runAfter,
    long inputBytes,
    Optional<String> contentType,
    String parameters,
    Optional<String> result,
    Optional<String> error,
    boolean cancelRequested) {

  public Job {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(startedAt, "startedAt");
    Objects.requireNonNull(finishedAt, "finishedAt");
    Objects.requireNonNull(runAfter, "runAfter");
    Objects.requireNonNull(contentType, "contentType");
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(result, "result");
    Objects.requireNonNull(error, "error");
  }

  /** This job with progress {@code done} of {@code total}. */
  public Job withProgress(long done, long total) {
    return new Job(
        id,
        type,
        state,
        attempts,
        maxAttempts,
        done,
        total,
        createdAt,
        startedAt,
        finishedAt,
        runAfter,
        inputBytes,
        contentType,
        parameters,
        result,
        error,
        cancelRequested);
  }
}
