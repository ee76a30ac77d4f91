package dev.lull.jobs.redis;

import dev.lull.jobs.JobState;
import dev.lull.jobs.Jobs;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs/s for small jobs on the Redis store (a local redis-server with {@code appendonly yes},
 * {@code appendfsync always}), as lull-jobs' JobsBenchmark measures the SQLite store. Off unless
 * {@code -Dlull.bench=true}; see docs/BENCHMARKS.md.
 */
@EnabledIfSystemProperty(named = "lull.bench", matches = "true")
class RedisJobsBenchmark {
  @TempDir Path redisDir;
  @TempDir Path inputs;

  @Test
  void smallJobsPerSecond() throws Exception {
    int n = Integer.parseInt(System.getProperty("lull.bench.jobs", "1000"));
    int workers = Integer.parseInt(System.getProperty("lull.bench.workers", "4"));
    try (RedisServer redis = RedisServer.start(redisDir, true)) {
      CountDownLatch done = new CountDownLatch(n);
      try (Jobs jobs =
          Jobs.builder()
              .store(RedisJobStore.builder(redis.uri()).inputDirectory(inputs).open())
              .workers(workers)
              .queueCapacity(n + 1)
              .listener(
                  e -> {
                    if (e.state() == JobState.SUCCEEDED) done.countDown();
                  })
              .handler("noop", job -> Map.of("ok", true))
              .build()
              .start()) {
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          jobs.submit("noop", new ByteArrayInputStream(new byte[100]), "");
        }
        long submitted = System.nanoTime();
        if (!done.await(Duration.ofMinutes(5).toSeconds(), TimeUnit.SECONDS)) {
          throw new AssertionError("not all jobs succeeded");
        }
        long end = System.nanoTime();
        System.out.printf(
            Locale.ROOT,
            "BENCH redis small jobs: %d jobs, %d workers: accepted %.0f jobs/s (%.2f ms each);"
                + " end to end %.0f jobs/s%n",
            n,
            workers,
            n / ((submitted - t0) / 1e9),
            (submitted - t0) / 1e6 / n,
            n / ((end - t0) / 1e9));
      }
    }
  }

  @Test
  void csvRowsPerSecond() throws Exception {
    int megabytes = Integer.parseInt(System.getProperty("lull.bench.csvMiB", "50"));
    // Rows of 32 bytes made up front (the upload is not what is measured here).
    byte[] row =
        "row-0000000000,value-00000,text\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    int rows = (megabytes << 20) / row.length;
    byte[] input = new byte[rows * row.length];
    for (int i = 0; i < rows; i++) System.arraycopy(row, 0, input, i * row.length, row.length);
    try (RedisServer redis = RedisServer.start(redisDir, true)) {
      CountDownLatch done = new CountDownLatch(1);
      try (Jobs jobs =
          Jobs.builder()
              .store(RedisJobStore.builder(redis.uri()).inputDirectory(inputs).open())
              .workers(1)
              .listener(
                  e -> {
                    if (e.state() == JobState.SUCCEEDED) done.countDown();
                  })
              .handler("lines", LinesJob::process)
              .build()
              .start()) {
        long t0 = System.nanoTime();
        jobs.submit("lines", new ByteArrayInputStream(input), "chunk=1048576");
        long stored = System.nanoTime();
        if (!done.await(10, TimeUnit.MINUTES)) throw new AssertionError("the job did not succeed");
        long end = System.nanoTime();
        System.out.printf(
            Locale.ROOT,
            "BENCH redis csv: %d MiB, %d rows: stored in %.2f s; processed in %.2f s: %.0f rows/s,"
                + " %.0f MiB/s%n",
            megabytes,
            rows,
            (stored - t0) / 1e9,
            (end - stored) / 1e9,
            rows / ((end - stored) / 1e9),
            megabytes / ((end - stored) / 1e9));
      }
    }
  }
}
