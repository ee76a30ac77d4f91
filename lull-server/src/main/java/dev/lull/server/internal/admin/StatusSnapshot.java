package dev.lull.server.internal.admin;

import dev.lull.core.ActivityCounts;
import dev.lull.core.Phase;
import dev.lull.core.StopReason;
import dev.lull.server.BoundListener;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What the server is doing at one instant: the data behind {@code /status} and {@code
 * /status.json}. Made by {@link AdminPlane#snapshot()} from the lifecycle, its activity tracker,
 * the listeners and the engine's in-flight requests; each part is read separately, so the parts may
 * differ by the changes that happened while it was made.
 *
 * @param time when it was made (wall clock)
 * @param uptime how long the JVM has been running
 * @param phase the lifecycle's phase
 * @param ready what {@code /readyz} would answer before running the readiness checks
 * @param stopReason why the server stops, once a stop was requested
 * @param listeners the public listeners
 * @param counts connections by state, running work, accepted and closed so far
 * @param busy what keeps the server from going idle (NEW, ACTIVE, HIJACKED and work)
 * @param idleTimeout the idle timeout, if the server exits when idle
 * @param idleIn how long until the idle timer fires, while it counts down
 * @param drainDelay the configured drain delay
 * @param stopTimeout the configured stop timeout ({@link Duration#ZERO}: wait forever)
 * @param killTimeout the configured kill timeout
 * @param inFlight requests being handled, oldest first
 * @param work tracked work running, oldest first
 */
public record StatusSnapshot(
    Instant time,
    Duration uptime,
    Phase phase,
    boolean ready,
    Optional<StopReason> stopReason,
    List<BoundListener> listeners,
    ActivityCounts counts,
    long busy,
    Optional<Duration> idleTimeout,
    Optional<Duration> idleIn,
    Duration drainDelay,
    Duration stopTimeout,
    Duration killTimeout,
    List<InFlight> inFlight,
    List<WorkInfo> work) {

  public StatusSnapshot {
    listeners = List.copyOf(listeners);
    inFlight = List.copyOf(inFlight);
    work = List.copyOf(work);
  }

  /**
   * One piece of tracked work.
   *
   * @param age how long it has been running
   * @param cancelled whether the server asked it to stop
   */
  public record WorkInfo(
      long id, String kind, String description, Duration age, boolean cancelled) {}

  /** The snapshot as one JSON object; durations are in seconds, absent values are null. */
  public String toJson() {
    Json j = new Json().beginObject();
    j.name("time").value(time.toString());
    j.name("uptimeSeconds").seconds(uptime);
    j.name("phase").value(AdminPlane.label(phase));
    j.name("ready").value(ready);
    j.name("stopReason").value(stopReason.map(StopReason::label).orElse(null));
    j.name("listeners").beginArray();
    for (BoundListener l : listeners) {
      j.beginObject()
          .name("name")
          .value(l.name())
          .name("address")
          .value(StatusPage.address(l.address()))
          .name("inherited")
          .value(l.inherited())
          .endObject();
    }
    j.endArray();
    j.name("connections").beginObject();
    j.name("open").value(counts.open());
    j.name("new").value(counts.newConnections());
    j.name("active").value(counts.active());
    j.name("idle").value(counts.idle());
    j.name("hijacked").value(counts.hijacked());
    j.name("accepted").value(counts.accepted());
    j.name("closed").value(counts.closed());
    j.endObject();
    j.name("busy").value(busy);
    j.name("idleTimeoutSeconds").seconds(idleTimeout.orElse(null));
    j.name("idleInSeconds").seconds(idleIn.orElse(null));
    j.name("drainDelaySeconds").seconds(drainDelay);
    j.name("stopTimeoutSeconds").seconds(stopTimeout);
    j.name("killTimeoutSeconds").seconds(killTimeout);
    j.name("inFlight").beginArray();
    for (InFlight r : inFlight) {
      j.beginObject()
          .name("connection")
          .value(r.connectionId())
          .name("method")
          .value(r.method())
          .name("path")
          .value(r.path())
          .name("listener")
          .value(r.listener())
          .name("ageSeconds")
          .seconds(r.age())
          .endObject();
    }
    j.endArray();
    j.name("work").beginArray();
    for (WorkInfo w : work) {
      j.beginObject()
          .name("id")
          .value(w.id())
          .name("kind")
          .value(w.kind())
          .name("description")
          .value(w.description())
          .name("ageSeconds")
          .seconds(w.age())
          .name("cancelled")
          .value(w.cancelled())
          .endObject();
    }
    j.endArray();
    return j.endObject().toString();
  }
}
