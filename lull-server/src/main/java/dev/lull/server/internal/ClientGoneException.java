package dev.lull.server.internal;

import java.io.IOException;

/** The client closed or reset the connection; nothing more can be read or written. */
final class ClientGoneException extends IOException {
  ClientGoneException() {
    super("client disconnected");
  }

  @Override
  public synchronized Throwable fillInStackTrace() {
    return this; // an expected outcome: no stack trace to collect
  }
}
