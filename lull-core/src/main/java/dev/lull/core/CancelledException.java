package dev.lull.core;

/**
 * Thrown by {@link Context#checkpoint()} once the context is cancelled. Unchecked, so busy code can
 * call {@code checkpoint()} anywhere; Lull treats it as the normal end of a cancelled request, not
 * as a handler failure (no stack trace is logged).
 */
public final class CancelledException extends RuntimeException {
  private final CancellationCause cause;

  public CancelledException(CancellationCause cause) {
    super("cancelled: " + cause, null, false, false);
    this.cause = cause;
  }

  /** Why the context was cancelled. */
  public CancellationCause reason() {
    return cause;
  }
}
