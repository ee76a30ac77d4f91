package dev.lull.cli.load;

/**
 * How a request failed. Every request the load generator sends ends as exactly one of: a 2xx
 * response ({@code ok}) or one of these kinds.
 */
public enum FailureKind {
  /**
   * No connection could be made: connection refused, a Unix socket file that does not exist, an
   * unreachable host. Nothing was sent.
   */
  REFUSED("refused"),
  /** The peer reset the connection (ECONNRESET) before the response was complete. */
  RESET("reset"),
  /** The connection was closed (end of stream, broken pipe) before the response was complete. */
  CLOSED("closed"),
  /** No complete response within {@code --timeout} of sending (connecting included). */
  TIMEOUT("timeout"),
  /** A complete response whose status was not 2xx. */
  STATUS("status"),
  /** Anything else: a malformed response, a local error. */
  OTHER("other");

  private final String label;

  FailureKind(String label) {
    this.label = label;
  }

  /** The lower-case name used in the summary and the JSON output. */
  public String label() {
    return label;
  }
}
