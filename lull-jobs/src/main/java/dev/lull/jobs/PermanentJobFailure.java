package dev.lull.jobs;

/**
 * Thrown by a {@link JobHandler} when retrying cannot help (malformed input, a missing resource):
 * the job is {@link JobState#FAILED} at once with this message, whatever attempts are left.
 */
public class PermanentJobFailure extends RuntimeException {
  public PermanentJobFailure(String message) {
    super(message);
  }

  public PermanentJobFailure(String message, Throwable cause) {
    super(message, cause);
  }
}
