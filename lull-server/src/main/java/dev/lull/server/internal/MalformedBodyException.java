package dev.lull.server.internal;

/** The request body is not valid chunked encoding; the client gets 400. */
final class MalformedBodyException extends RequestBodyException {
  MalformedBodyException(Throwable cause) {
    super(400, "malformed request body: " + cause.getMessage());
    initCause(cause);
  }
}
