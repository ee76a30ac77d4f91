package dev.lull.server.internal;

/** The request body is larger than the server's maxBodySize; the client gets 413. */
final class BodyTooLargeException extends RequestBodyException {
  BodyTooLargeException(long max) {
    super(413, "request body exceeds maxBodySize " + max);
  }
}
