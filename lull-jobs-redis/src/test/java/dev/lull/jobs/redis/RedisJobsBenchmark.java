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
}
