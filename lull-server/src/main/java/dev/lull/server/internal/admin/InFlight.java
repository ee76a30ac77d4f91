package dev.lull.server.internal.admin;

import java.time.Duration;
import java.util.Objects;

/**
 * One request being handled now, as the status page shows it.
 *
 * @param connectionId the connection's id, as reported to the activity tracker
 * @param method the request method
 * @param path the path as the client sent it, without the query
 * @param listener the name of the listener that accepted the connection
 * @param age how long since the request head was complete
 */
public record InFlight(
    long connectionId, String method, String path, String listener, Duration age) {
  public InFlight {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(listener, "listener");
    Objects.requireNonNull(age, "age");
  }
}
