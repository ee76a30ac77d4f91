package dev.lull.core;

/** Why a {@link Context} was cancelled. */
public enum CancellationCause {
  /** The client closed or reset its connection while the handler still ran. */
  CLIENT_DISCONNECTED,
  /** The deadline of the request (its route's, or the server's request timeout) passed. */
  DEADLINE_EXCEEDED,
  /** The server's stop timeout expired during a graceful stop. */
  SERVER_STOPPING,
  /** Cancelled by application code, through {@link Context#cancel(CancellationCause)}. */
  CANCELLED
}
