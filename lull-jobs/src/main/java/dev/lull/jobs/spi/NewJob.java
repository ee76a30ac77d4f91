package dev.lull.jobs.spi;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A job to insert, in state {@code QUEUED}, after its input was committed.
 *
 * @param id the job's id
 * @param type its type
 * @param maxAttempts how many attempts it gets
 * @param createdAt now
 * @param inputBytes the size of the committed input
 * @param contentType the request's content type
 * @param parameters the request's raw query string (may be empty)
 */
public record NewJob(
    String id,
    String type,
    int maxAttempts,
    Instant createdAt,
    long inputBytes,
    Optional<String> contentType,
    String parameters) {
  public NewJob {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(contentType, "contentType");
    Objects.requireNonNull(parameters, "parameters");
  }
}
