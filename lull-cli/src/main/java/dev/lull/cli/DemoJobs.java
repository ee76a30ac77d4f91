package dev.lull.cli;

import dev.lull.core.Durations;
import dev.lull.jobs.JobContext;
import dev.lull.jobs.Jobs;
import dev.lull.jobs.LineChunks;
import dev.lull.jobs.PermanentJobFailure;
import dev.lull.jobs.Pipeline;
import dev.lull.server.Handler;
import dev.lull.server.RouteOptions;
import dev.lull.server.Router;
import dev.lull.server.Scheduling;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32;

/**
 * The demo's background job, the CSV case of the seed "respond to HTTP request while processing in
 * the background": {@code POST /jobs/csv} stores the upload and answers 202 at once; a job then
 * reads it with one reader and N workers through a bounded queue, and its result is the row count
 * and a checksum. {@code GET /jobs/{id}} shows its progress (bytes), {@code DELETE} cancels it.
 *
 * <p>Query parameters of the POST: {@code workers} (pipeline workers, default 4), {@code chunk}
 * (bytes per chunk, default 1 MiB), {@code rowWork} (simulated work per row, e.g. {@code 50us};
 * default none).
 *
 * <p>Exactly-once result under at-least-once execution: each chunk's count and checksum are
 * committed as a checkpoint ({@code chunk-N}) when the chunk is done; an attempt after a crash or a
 * stop skips the committed chunks (the input is seeked over, not read) and the result is the sum
 * over all checkpoints, so a chunk processed twice is counted once.
 */
public final class DemoJobs {
  /** The job type of the CSV job. */
  public static final String CSV = "csv";

  private DemoJobs() {}

  /** Registers the demo's job handlers. */
  public static Jobs.Builder register(Jobs.Builder jobs) {
    return jobs.handler(CSV, DemoJobs::csv);
  }

  /**
   * Adds {@code POST /jobs/csv} and the jobs API ({@code GET /jobs}, {@code GET /jobs/{id}}, {@code
   * DELETE /jobs/{id}}) to {@code router}.
   */
  public static Router.Builder addRoutes(Router.Builder router, Jobs jobs) {
    return addRoutes(router, jobs, h -> h);
  }

  /** As {@link #addRoutes(Router.Builder, Jobs)}, each handler wrapped by {@code wrap}. */
  static Router.Builder addRoutes(
      Router.Builder router, Jobs jobs, java.util.function.UnaryOperator<Handler> wrap) {
    // Accepting a job writes and fsyncs its input and a row; the jobs API reads the store: both
    // are file I/O through native code, kept off the event loops.
    RouteOptions shared = RouteOptions.builder().scheduling(Scheduling.SHARED).build();
    router.route("POST /jobs/csv", wrap.apply(jobs.acceptHandler(CSV)), shared);
    jobs.routes().forEach((pattern, handler) -> router.route(pattern, wrap.apply(handler), shared));
    return router;
  }

  /**
   * The CSV job: the result is {@code {"rows": N, "checksum": "hex", "chunks": C, "chunksResumed":
   * R}} where rows are the non-empty lines and the checksum is the sum, modulo 2^64, of each row's
   * CRC32 (without its line end) — independent of order, so N workers can add it up.
   */
  static Map<String, ?> csv(JobContext job) throws Exception {
    int workers = intParameter(job, "workers", 4, 1, 64);
    int chunkBytes = intParameter(job, "chunk", 1 << 20, 1024, 64 << 20);
    long rowWorkNanos;
    try {
      rowWorkNanos = Durations.parse(job.parameter("rowWork").orElse("0s")).toNanos();
    } catch (IllegalArgumentException e) {
      throw new PermanentJobFailure("rowWork: " + e.getMessage());
    }
    Map<String, String> before = job.checkpoints("chunk-");
    AtomicLong bytesDone = new AtomicLong();
    for (String v : before.values()) bytesDone.addAndGet(Long.parseLong(v.split(",")[2]));
    job.progress(bytesDone.get(), job.inputSize());
    try (InputStream in = job.input()) {
      LineChunks reader =
          LineChunks.of(in, chunkBytes).skipping(i -> before.containsKey(chunkKey(i)));
      Pipeline.of(reader, workers, 2 * workers)
          .run(
              job.context(),
              chunk -> {
                long[] rowsAndSum = new long[2];
                CRC32 crc = new CRC32();
                chunk.forEachLine(
                    (b, off, len) -> {
                      if (len == 0) return;
                      crc.reset();
                      crc.update(b, off, len);
                      rowsAndSum[0]++;
                      rowsAndSum[1] += crc.getValue();
                      if (rowWorkNanos > 0) LockSupport.parkNanos(rowWorkNanos);
                    });
                job.context().checkpoint();
                job.done(
                    chunkKey(chunk.index()),
                    rowsAndSum[0] + "," + rowsAndSum[1] + "," + chunk.bytes().length);
                job.progress(bytesDone.addAndGet(chunk.bytes().length), job.inputSize());
              });
    }
    long rows = 0;
    long sum = 0;
    Map<String, String> all = job.checkpoints("chunk-");
    for (String v : all.values()) {
      String[] f = v.split(",");
      rows += Long.parseLong(f[0]);
      sum += Long.parseLong(f[1]);
    }
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("rows", rows);
    result.put("checksum", Long.toHexString(sum));
    result.put("chunks", all.size());
    result.put("chunksResumed", before.size());
    return result;
  }

  static String chunkKey(long index) {
    return String.format("chunk-%012d", index);
  }

  private static int intParameter(JobContext job, String name, int dflt, int min, int max) {
    String v = job.parameter(name).orElse(null);
    if (v == null) return dflt;
    try {
      int n = Integer.parseInt(v);
      if (n < min || n > max) {
        throw new PermanentJobFailure(name + " must be " + min + " to " + max + ": " + v);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new PermanentJobFailure(name + " is not a number: " + v);
    }
  }
}
