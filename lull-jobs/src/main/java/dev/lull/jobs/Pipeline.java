package dev.lull.jobs;

import dev.lull.core.CancellationCause;
import dev.lull.core.CancelledException;
import dev.lull.core.Context;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One reader, N workers and a bounded queue between them: the producer/consumer shape of the CSV
 * seed, with backpressure (the reader blocks while the queue is full), cancellation and failure
 * handling done once. Use it inside a {@link JobHandler}:
 *
 * <pre>{@code
 * try (InputStream in = job.input()) {
 *   Pipeline.of(LineChunks.of(in, 1 << 20), 4, 8)
 *       .run(job.context(), chunk -> count(chunk));
 * }
 * }</pre>
 *
 * <p>The reader runs on one virtual thread, each worker on its own; {@link #run} blocks the calling
 * thread until all have ended. Items are processed in no particular order. Memory is bounded by
 * {@code queueSize + workers} items in flight.
 *
 * <p>The first failure — of the reader or of a worker — stops the others (their threads are
 * interrupted) and is thrown by {@code run}. Cancelling the context stops everything likewise;
 * {@code run} then throws {@link CancelledException} with the context's cause.
 *
 * @param <T> the items handed from the reader to the workers
 */
public final class Pipeline<T> {
  private static final Object END = new Object();

  /** Produces the items; {@link Sink#put} blocks while the queue is full. */
  @FunctionalInterface
  public interface Source<T> {
    void produce(Sink<T> sink) throws Exception;
  }

  /** Where a {@link Source} puts its items. */
  @FunctionalInterface
  public interface Sink<T> {
    /**
     * Hands {@code item} to the workers, waiting while the queue is full.
     *
     * @throws InterruptedException if the pipeline is stopping (a failure, a cancellation)
     */
    void put(T item) throws InterruptedException;
  }

  /** Processes one item; called on a worker's thread. */
  @FunctionalInterface
  public interface Stage<T> {
    void process(T item) throws Exception;
  }

  private final Source<T> reader;
  private final int workers;
  private final int queueSize;

  private Pipeline(Source<T> reader, int workers, int queueSize) {
    this.reader = Objects.requireNonNull(reader, "reader");
    if (workers < 1) throw new IllegalArgumentException("workers < 1: " + workers);
    if (queueSize < 1) throw new IllegalArgumentException("queueSize < 1: " + queueSize);
    this.workers = workers;
    this.queueSize = queueSize;
  }

  /**
   * A pipeline from {@code reader} to {@code workers} workers through a queue of {@code queueSize}
   * items.
   *
   * @throws IllegalArgumentException if {@code workers} or {@code queueSize} is below 1
   */
  public static <T> Pipeline<T> of(Source<T> reader, int workers, int queueSize) {
    return new Pipeline<>(reader, workers, queueSize);
  }

  /**
   * Runs the reader and {@code workers} copies of {@code stage} until the reader has finished and
   * every item is processed.
   *
   * @return how many items were processed
   * @throws CancelledException if {@code context} was cancelled
   * @throws Exception the first failure of the reader or a worker
   */
  public long run(Context context, Stage<? super T> stage) throws Exception {
    Objects.requireNonNull(context, "context");
    Objects.requireNonNull(stage, "stage");
    context.checkpoint();
    BlockingQueue<Object> queue = new ArrayBlockingQueue<>(queueSize);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicLong processed = new AtomicLong();
    List<Thread> threads = new ArrayList<>(workers + 1);
    Runnable stopAll =
        () -> {
          synchronized (threads) {
            for (Thread t : threads) t.interrupt();
          }
        };
    Sink<T> sink =
        item -> {
          if (failure.get() != null || context.isCancelled()) throw new InterruptedException();
          queue.put(item);
        };
    Context.Registration reg = context.onCancel(stopAll);
    try {
      synchronized (threads) {
        threads.add(
            Thread.ofVirtual()
                .name("pipeline-reader")
                .unstarted(
                    () -> {
                      try {
                        reader.produce(sink);
                        queue.put(END);
                      } catch (Throwable e) {
                        fail(failure, e, stopAll);
                      }
                    }));
        for (int i = 0; i < workers; i++) {
          threads.add(
              Thread.ofVirtual()
                  .name("pipeline-worker-" + i)
                  .unstarted(
                      () -> {
                        try {
                          while (true) {
                            Object item = queue.take();
                            if (item == END) {
                              queue.put(END); // for the next worker
                              return;
                            }
                            if (failure.get() != null) return;
                            @SuppressWarnings("unchecked")
                            T t = (T) item;
                            stage.process(t);
                            processed.incrementAndGet();
                          }
                        } catch (Throwable e) {
                          fail(failure, e, stopAll);
                        }
                      }));
        }
        for (Thread t : threads) t.start();
      }
      boolean interrupted = false;
      for (Thread t : threads) {
        while (true) {
          try {
            t.join();
            break;
          } catch (InterruptedException e) {
            // The caller is being stopped: stop the pipeline, then wait for its threads to end.
            interrupted = true;
            fail(failure, e, stopAll);
          }
        }
      }
      if (interrupted) Thread.currentThread().interrupt();
    } finally {
      reg.remove();
    }
    if (context.isCancelled()) {
      throw new CancelledException(context.cause().orElse(CancellationCause.CANCELLED));
    }
    Throwable f = failure.get();
    if (f != null) {
      if (f instanceof Exception e) throw e;
      if (f instanceof Error e) throw e;
      throw new RuntimeException(f);
    }
    return processed.get();
  }

  private static void fail(AtomicReference<Throwable> failure, Throwable e, Runnable stopAll) {
    if (failure.compareAndSet(null, e)) stopAll.run();
  }
}
