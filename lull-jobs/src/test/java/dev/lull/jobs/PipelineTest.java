package dev.lull.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.CancellationCause;
import dev.lull.core.CancelledException;
import dev.lull.core.Context;
import dev.lull.core.Scheduler;
import dev.lull.core.Ticker;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PipelineTest {
  @Test
  void everyItemIsProcessedOnceAndTheReaderNeverRunsMoreThanTheQueueAhead() throws Exception {
    int workers = 3;
    int queue = 4;
    AtomicLong produced = new AtomicLong();
    AtomicLong consumed = new AtomicLong();
    AtomicLong sum = new AtomicLong();
    AtomicLong maxAhead = new AtomicLong();
    long n =
        Pipeline.<Long>of(
                sink -> {
                  for (long i = 1; i <= 20_000; i++) {
                    long ahead = produced.incrementAndGet() - consumed.get();
                    maxAhead.accumulateAndGet(ahead, Math::max);
                    sink.put(i);
                  }
                },
                workers,
                queue)
            .run(
                Context.background(),
                i -> {
                  sum.addAndGet(i);
                  consumed.incrementAndGet();
                });
    assertThat(n).isEqualTo(20_000);
    assertThat(sum.get()).isEqualTo(20_000L * 20_001 / 2);
    // In flight at most: queued + one per worker + the one being put.
    assertThat(maxAhead.get()).isLessThanOrEqualTo(queue + workers + 1);
  }

  @Test
  void theFirstFailureStopsTheReaderAndIsThrown() {
    CompletableFuture<Boolean> readerInterrupted = new CompletableFuture<>();
    assertThatThrownBy(
            () ->
                Pipeline.<Integer>of(
                        sink -> {
                          try {
                            for (int i = 0; ; i++) sink.put(i);
                          } catch (InterruptedException e) {
                            readerInterrupted.complete(true);
                            throw e;
                          }
                        },
                        2,
                        2)
                    .run(
                        Context.background(),
                        i -> {
                          if (i == 100) throw new IOException("bad item " + i);
                        }))
        .isInstanceOf(IOException.class)
        .hasMessage("bad item 100");
    assertThat(readerInterrupted).isCompletedWithValue(true);
  }

  @Test
  void cancellingTheContextStopsEverythingWithItsCause() throws Exception {
    Context ctx = Context.root(Ticker.system(), Scheduler.system());
    CountDownLatch working = new CountDownLatch(2);
    CompletableFuture<Throwable> result = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                Pipeline.<Integer>of(
                        sink -> {
                          for (int i = 0; ; i++) sink.put(i);
                        },
                        2,
                        2)
                    .run(
                        ctx,
                        i -> {
                          working.countDown();
                          new CountDownLatch(1).await(); // blocks until interrupted
                        });
                result.complete(null);
              } catch (Throwable e) {
                result.complete(e);
              }
            });
    assertThat(working.await(10, TimeUnit.SECONDS)).isTrue();
    ctx.cancel(CancellationCause.SERVER_STOPPING);
    Throwable t = result.get(10, TimeUnit.SECONDS);
    assertThat(t).isInstanceOf(CancelledException.class);
    assertThat(((CancelledException) t).reason()).isEqualTo(CancellationCause.SERVER_STOPPING);
  }
}
