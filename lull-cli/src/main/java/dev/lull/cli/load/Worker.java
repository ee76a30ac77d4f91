package dev.lull.cli.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpVersion;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The share of the run one event loop carries: its slots (connections) and, in an open loop, its
 * part of the schedule. Everything here runs on {@link #loop}; only {@link #done} is read from
 * elsewhere.
 *
 * <p>Closed loop: each slot takes a permit (when the run has a request count) and sends, and sends
 * again as soon as the response is complete. Open loop: requests fall due on the {@link
 * RateSchedule}; a due request goes to a free slot; when every slot is busy it waits and is counted
 * late, and the next slot to become free takes it. Its latency counts from when it fell due, so a
 * slow server shows up in the latency instead of slowing the schedule (no coordinated omission).
 */
final class Worker {
  final EventLoop loop;
  final boolean idempotent;
  final CompletableFuture<Void> ready = new CompletableFuture<>();
  final CompletableFuture<Void> done = new CompletableFuture<>();
  private final Stats stats;
  private final Slot[] slots;
  private final ByteBuf request; // the whole request, encoded once
  private final RateSchedule schedule; // null for a closed loop
  private final AtomicLong permits; // closed loop with a request count, shared by all workers
  private final long durationNanos; // 0 for none
  private final ArrayDeque<Slot> free = new ArrayDeque<>();

  private long start;
  private long dispatched; // open loop: requests sent so far (local index of the next)
  private long lateUpTo; // open loop: requests below this index were counted late
  private int inFlight;
  private int connecting;
  private boolean started;
  private boolean stopping;
  private boolean finished;
  private ScheduledFuture<?> tick;
  private ScheduledFuture<?> deadline;

  Worker(
      EventLoop loop,
      LoadSpec spec,
      Stats stats,
      Bootstrap bootstrap,
      int connections,
      RateSchedule schedule,
      AtomicLong permits) {
    this.loop = loop;
    this.idempotent = spec.idempotent();
    this.stats = stats;
    this.schedule = schedule;
    this.permits = permits;
    this.durationNanos = spec.durationBound().map(d -> d.toNanos()).orElse(0L);
    this.request = encode(spec);
    Bootstrap b = bootstrap.clone(loop);
    long timeoutNanos = spec.timeout().toNanos();
    this.slots = new Slot[connections];
    boolean head = spec.method().equals("HEAD");
    for (int i = 0; i < connections; i++) slots[i] = new Slot(this, stats, b, timeoutNanos, head);
  }

  /** The request as bytes, encoded once by Netty's encoder; every send writes a duplicate. */
  static ByteBuf encode(LoadSpec spec) {
    byte[] body = spec.body();
    FullHttpRequest req =
        new DefaultFullHttpRequest(
            HttpVersion.HTTP_1_1,
            HttpMethod.valueOf(spec.method()),
            spec.target().requestTarget(),
            Unpooled.wrappedBuffer(body));
    req.headers().set(HttpHeaderNames.HOST, spec.target().hostHeader());
    req.headers().set(HttpHeaderNames.USER_AGENT, "lull-load");
    for (Map.Entry<String, String> h : spec.headers()) {
      if (h.getKey().equalsIgnoreCase("host") || h.getKey().equalsIgnoreCase("user-agent")) {
        req.headers().set(h.getKey(), h.getValue());
      } else {
        req.headers().add(h.getKey(), h.getValue());
      }
    }
    String m = spec.method();
    if (body.length > 0 || m.equals("POST") || m.equals("PUT") || m.equals("PATCH")) {
      req.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
    }
    EmbeddedChannel encoder = new EmbeddedChannel(new HttpRequestEncoder());
    try {
      encoder.writeOutbound(req);
      ByteBuf out = Unpooled.directBuffer();
      for (ByteBuf part; (part = encoder.readOutbound()) != null; ) {
        out.writeBytes(part);
        part.release();
      }
      return out;
    } finally {
      encoder.finishAndReleaseAll();
    }
  }

  /** The request's bytes for one send; the channel releases them once written. */
  ByteBuf newRequest() {
    return request.retainedDuplicate();
  }

  /** Opens every slot's connection; completes {@link #ready} when all have succeeded or failed. */
  void preconnect() {
    connecting = slots.length;
    for (Slot s : slots) {
      s.preconnect(
          () -> {
            if (--connecting == 0) ready.complete(null);
          });
    }
  }

  /** Starts sending; {@code startNanos} is the run's time zero, the same for every worker. */
  void start(long startNanos) {
    start = startNanos;
    started = true;
    if (durationNanos > 0) {
      long delay = start + durationNanos - System.nanoTime();
      deadline = loop.schedule(this::stop, Math.max(0, delay), TimeUnit.NANOSECONDS);
    }
    if (schedule == null) {
      for (Slot s : slots) next(s);
    } else {
      for (Slot s : slots) free.add(s);
      tick();
    }
    maybeDone();
  }

  /**
   * Stops sending new requests (the duration is over, or the user asked); those in flight finish.
   * In an open loop, requests already due go to free slots first; those still waiting are missed.
   */
  void stop() {
    if (stopping) return;
    if (schedule != null && started) {
      long due = schedule.dueBy(System.nanoTime() - start);
      dispatchDue(due);
      if (due > dispatched) stats.missed.add(due - dispatched);
    }
    stopping = true;
    maybeDone();
  }

  /** A slot finished its request; after a failure the next one starts in a later task. */
  void freed(Slot s, boolean success) {
    inFlight--;
    if (success) {
      next(s);
    } else {
      // Failures can come back inline (a connect refused at once); do not recurse.
      loop.execute(() -> next(s));
    }
  }

  private void next(Slot s) {
    if (!stopping && !finished) {
      if (schedule == null) {
        if (permits == null || permits.getAndDecrement() > 0) {
          send(s, System.nanoTime());
          return;
        }
      } else {
        if (dispatched < schedule.dueBy(System.nanoTime() - start)) {
          send(s, start + schedule.intendedNanos(dispatched++));
          return;
        }
        free.add(s);
      }
    }
    maybeDone();
  }

  private void send(Slot s, long originNanos) {
    inFlight++;
    s.send(originNanos);
  }

  private void tick() {
    tick = null;
    if (stopping || finished) return;
    long due = schedule.dueBy(System.nanoTime() - start);
    dispatchDue(due);
    if (due < schedule.limit()) {
      long delay = start + schedule.intendedNanos(due) - System.nanoTime();
      tick = loop.schedule(this::tick, Math.max(0, delay), TimeUnit.NANOSECONDS);
    } else {
      maybeDone();
    }
  }

  /** Hands due requests to free slots; counts once, as late, each one that finds none. */
  private void dispatchDue(long due) {
    while (dispatched < due && !free.isEmpty()) {
      send(free.poll(), start + schedule.intendedNanos(dispatched++));
    }
    long from = Math.max(dispatched, lateUpTo);
    if (due > from) {
      stats.late.add(due - from);
      lateUpTo = due;
    }
  }

  private boolean noMoreWork() {
    if (stopping) return true;
    if (schedule != null) return dispatched >= schedule.limit();
    return permits != null && permits.get() <= 0;
  }

  private void maybeDone() {
    if (finished || inFlight > 0 || !noMoreWork()) return;
    finished = true;
    if (tick != null) tick.cancel(false);
    if (deadline != null) deadline.cancel(false);
    for (Slot s : slots) s.close();
    request.release();
    done.complete(null);
  }
}
