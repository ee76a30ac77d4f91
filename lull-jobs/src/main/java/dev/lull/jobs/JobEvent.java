package dev.lull.jobs;

/**
 * A job changed state, as told to a {@link JobListener}.
 *
 * @param id the job
 * @param type its type
 * @param state the state it entered
 * @param attempt the attempt concerned (0 before the first)
 * @param detail what happened, in words: {@code accepted}, {@code started}, {@code succeeded in
 *     1.2s}, the error of a failed attempt, {@code released by stop}...
 */
public record JobEvent(String id, String type, JobState state, int attempt, String detail) {
  @Override
  public String toString() {
    return "job " + id + " (" + type + ") " + state + " attempt " + attempt + ": " + detail;
  }
}
