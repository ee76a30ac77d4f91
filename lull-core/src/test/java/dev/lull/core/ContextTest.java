package dev.lull.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ContextTest {
  /** Time that moves only when the test says so. */
  static final class FakeTime implements Ticker, Scheduler {
    long now;
    final List<long[]> order = new ArrayList<>();
    final List<Task> tasks = new ArrayList<>();

    record Task(long at, Runnable r, boolean[] cancelled) {}

    @Override
    public long read() {
      return now;
    }

    @Override
    public Cancellable schedule(Runnable task, Duration delay) {
      boolean[] cancelled = {false};
      tasks.add(new Task(now + delay.toNanos(), task, cancelled));
      return () -> cancelled[0] = true;
    }

    void advance(Duration d) {
      now += d.toNanos();
      List<Task> due = new ArrayList<>();
      for (Task t : tasks) if (t.at <= now) due.add(t);
      tasks.removeAll(due);
      due.sort(Comparator.comparingLong(Task::at));
      for (Task t : due) if (!t.cancelled[0]) t.r.run();
    }

    long live() {
      return tasks.stream().filter(t -> !t.cancelled[0]).count();
    }
  }

  final FakeTime time = new FakeTime();
  final Context root = Context.root(time, time);

  @Test
  void cancelsOnceWithTheFirstCause() {
    Context ctx = root.child();
    AtomicInteger calls = new AtomicInteger();
    ctx.onCancel(calls::incrementAndGet);

    assertThat(ctx.cancel(CancellationCause.CLIENT_DISCONNECTED)).isTrue();
    assertThat(ctx.cancel(CancellationCause.DEADLINE_EXCEEDED)).isFalse();

    assertThat(calls).hasValue(1);
    assertThat(ctx.cause()).contains(CancellationCause.CLIENT_DISCONNECTED);
    assertThatThrownBy(ctx::checkpoint)
        .isInstanceOf(CancelledException.class)
        .extracting(e -> ((CancelledException) e).reason())
        .isEqualTo(CancellationCause.CLIENT_DISCONNECTED);
  }

  @Test
  void callbackRegisteredAfterCancellationRunsAtOnce() {
    Context ctx = root.child();
    ctx.cancel(CancellationCause.CANCELLED);
    AtomicInteger calls = new AtomicInteger();
    ctx.onCancel(calls::incrementAndGet);
    assertThat(calls).hasValue(1);
  }

  @Test
  void removedCallbackDoesNotRun() {
    Context ctx = root.child();
    AtomicInteger calls = new AtomicInteger();
    ctx.onCancel(calls::incrementAndGet).remove();
    ctx.cancel(CancellationCause.CANCELLED);
    assertThat(calls).hasValue(0);
  }

  @Test
  void parentCancellationReachesChildrenButNotDetachedContexts() {
    Context parent = root.child();
    Context child = parent.child();
    Context grandchild = child.withValue(Context.Key.of("k"), "v");
    Context detached = parent.detached();

    parent.cancel(CancellationCause.SERVER_STOPPING);

    assertThat(child.cause()).contains(CancellationCause.SERVER_STOPPING);
    assertThat(grandchild.cause()).contains(CancellationCause.SERVER_STOPPING);
    assertThat(detached.isCancelled()).isFalse();
  }

  @Test
  void childCancellationDoesNotReachParent() {
    Context parent = root.child();
    parent.child().cancel(CancellationCause.CANCELLED);
    assertThat(parent.isCancelled()).isFalse();
  }

  @Test
  void deadlineCancelsWithDeadlineExceeded() {
    Context ctx = root.withTimeout(Duration.ofSeconds(5));
    assertThat(ctx.remaining()).contains(Duration.ofSeconds(5));

    time.advance(Duration.ofMillis(4999));
    assertThat(ctx.isCancelled()).isFalse();
    time.advance(Duration.ofMillis(1));

    assertThat(ctx.cause()).contains(CancellationCause.DEADLINE_EXCEEDED);
    assertThat(ctx.remaining()).contains(Duration.ZERO);
  }

  @Test
  void childDeadlineCannotExtendParentDeadline() {
    Context parent = root.withTimeout(Duration.ofSeconds(1));
    Context child = parent.withTimeout(Duration.ofSeconds(10));
    assertThat(child.remaining()).contains(Duration.ofSeconds(1));
    time.advance(Duration.ofSeconds(1));
    assertThat(child.cause()).contains(CancellationCause.DEADLINE_EXCEEDED);
  }

  @Test
  void cancellationAndReleaseStopTheDeadlineTimer() {
    Context a = root.withTimeout(Duration.ofSeconds(5));
    Context b = root.withTimeout(Duration.ofSeconds(5));
    assertThat(time.live()).isEqualTo(2);
    a.cancel(CancellationCause.CLIENT_DISCONNECTED);
    b.release();
    assertThat(time.live()).isZero();
    time.advance(Duration.ofSeconds(10));
    assertThat(a.cause()).contains(CancellationCause.CLIENT_DISCONNECTED);
    assertThat(b.isCancelled()).isFalse();
  }

  @Test
  void valuesAreInheritedAndTyped() {
    Context.Key<String> user = Context.Key.of("user");
    Context.Key<Integer> n = Context.Key.of("n");
    Context ctx = root.withValue(user, "ann").withValue(n, 3).child();
    assertThat(ctx.value(user)).contains("ann");
    assertThat(ctx.value(n)).contains(3);
    assertThat(root.value(user)).isEmpty();
  }

  @Test
  void callbacksRunOutsideTheContextLock() throws Exception {
    Context ctx = root.child();
    CountDownLatch registeredFromOtherThread = new CountDownLatch(1);
    // The callback registers on the same context from another thread: it would deadlock if the
    // callbacks ran under the context's lock.
    ctx.onCancel(
        () -> {
          Thread t =
              Thread.ofVirtual().start(() -> ctx.onCancel(registeredFromOtherThread::countDown));
          try {
            t.join(5000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    ctx.cancel(CancellationCause.CANCELLED);
    assertThat(registeredFromOtherThread.await(5, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void concurrentCancelsRunCallbacksOnce() throws Exception {
    for (int round = 0; round < 200; round++) {
      Context ctx = root.child();
      List<String> ran = new CopyOnWriteArrayList<>();
      ctx.onCancel(() -> ran.add("x"));
      CountDownLatch go = new CountDownLatch(1);
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        threads.add(
            Thread.ofVirtual()
                .start(
                    () -> {
                      try {
                        go.await();
                      } catch (InterruptedException e) {
                        return;
                      }
                      ctx.cancel(CancellationCause.CANCELLED);
                    }));
      }
      go.countDown();
      for (Thread t : threads) t.join(5000);
      assertThat(ran).hasSize(1);
    }
  }

  @Test
  void backgroundIsNeverCancelled() {
    assertThatThrownBy(() -> Context.background().cancel(CancellationCause.CANCELLED))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThat(Context.background().isCancelled()).isFalse();
    assertThat(Context.background().remaining()).isEmpty();
  }
}
