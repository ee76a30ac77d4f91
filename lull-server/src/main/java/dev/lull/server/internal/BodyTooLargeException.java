package dev.lull.server.internal;

import java.io.IOException;

/** The request body is larger than the server's maxBodySize; the client gets 413. */
final class BodyTooLargeException extends IOException {
  BodyTooLargeException(long max) {
    super("request body exceeds maxBodySize " + max);
  }
}
