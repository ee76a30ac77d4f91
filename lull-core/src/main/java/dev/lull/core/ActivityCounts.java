package dev.lull.core;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of an {@link ActivityTracker}: how many connections are in each state, and how much
 * tracked work runs. Read while connections change, the numbers of different states may come from
 * slightly different instants (each is exact when nothing changes).
 *
 * @param newConnections connections in {@link ConnectionState#NEW}
 * @param active connections in {@link ConnectionState#ACTIVE}
 * @param idle connections in {@link ConnectionState#IDLE}
 * @param hijacked connections in {@link ConnectionState#HIJACKED}
 * @param work tracked {@link Work} running
 * @param accepted connections accepted since the tracker was made
 * @param closed connections closed since the tracker was made
 */
public record ActivityCounts(
    long newConnections,
    long active,
    long idle,
    long hijacked,
    long work,
    long accepted,
    long closed) {

  /** Connections open now, in any state but {@link ConnectionState#CLOSED}. */
  public long open() {
    return newConnections + active + idle + hijacked;
  }

  /** What keeps the server from going idle: NEW, ACTIVE and HIJACKED connections and work. */
  public long busy() {
    return newConnections + active + hijacked + work;
  }

  /**
   * How many connections are in {@code state} now; for {@link ConnectionState#CLOSED}, how many
   * have closed since the tracker was made.
   */
  public long connections(ConnectionState state) {
    return switch (state) {
      case NEW -> newConnections;
      case ACTIVE -> active;
      case IDLE -> idle;
      case HIJACKED -> hijacked;
      case CLOSED -> closed;
    };
  }

  /**
   * The counts by name, in a stable order: {@code new}, {@code active}, {@code idle}, {@code
   * hijacked}, {@code work}, {@code accepted}, {@code closed}.
   */
  public Map<String, Long> toMap() {
    Map<String, Long> m = new LinkedHashMap<>();
    m.put("new", newConnections);
    m.put("active", active);
    m.put("idle", idle);
    m.put("hijacked", hijacked);
    m.put("work", work);
    m.put("accepted", accepted);
    m.put("closed", closed);
    return m;
  }

  @Override
  public String toString() {
    return "new "
        + newConnections
        + ", active "
        + active
        + ", idle "
        + idle
        + ", hijacked "
        + hijacked
        + ", work "
        + work;
  }
}
