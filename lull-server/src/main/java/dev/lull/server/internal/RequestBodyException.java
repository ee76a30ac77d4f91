package dev.lull.server.internal;

import java.io.IOException;

/**
 * The request body cannot be read to its end because of the client. If the handler lets it escape
 * before the response is committed, the client gets {@link #status()} and nothing is logged: the
 * request was at fault, not the handler.
 */
class RequestBodyException extends IOException {
  private final int status;

  RequestBodyException(int status, String message) {
    super(message);
    this.status = status;
  }

  int status() {
    return status;
  }
}
