package dev.lull.jobs;

import java.util.Map;

/**
 * Processes jobs of one type, registered with {@link Jobs.Builder#handler(String, JobHandler)}.
 * Called on a virtual thread of the worker pool, so it may block.
 *
 * <h2>At least once</h2>
 *
 * A job may run more than once: after a failed attempt (with the attempts left), after a graceful
 * stop cut it, or after its process died. Write the handler so that running it again is harmless:
 * record each step's outcome with {@link JobContext#done(String, String)} and skip steps whose
 * {@link JobContext#checkpoint(String)} is present; toward other systems use {@link
 * JobContext#idempotencyKey(String)}. See docs/JOBS.md.
 *
 * <h2>Ending</h2>
 *
 * <ul>
 *   <li>Return the result: a JSON object made of maps, lists, strings, numbers, booleans and nulls
 *       (or {@code null} for none). The job is {@link JobState#SUCCEEDED}.
 *   <li>Throw: the attempt failed; the job is retried after a backoff while attempts are left, then
 *       {@link JobState#FAILED} with the exception's message. {@link PermanentJobFailure} fails it
 *       at once.
 *   <li>Cancellation: when {@link JobContext#context()} is cancelled (by {@code DELETE}, or by the
 *       server's stop timeout) the worker thread is interrupted; end soon by returning or throwing
 *       (for example {@link dev.lull.core.Context#checkpoint()}'s {@link
 *       dev.lull.core.CancelledException}). What the job becomes depends on the cause, not on how
 *       it ended: {@code CANCELLED} after a {@code DELETE}; back to {@code QUEUED} (attempt not
 *       counted) after a stop. A handler that returns normally despite the cancellation has
 *       succeeded.
 * </ul>
 */
@FunctionalInterface
public interface JobHandler {
  Map<String, ?> process(JobContext job) throws Exception;
}
