package dev.lull.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Throughput of the embedded SQLite store: jobs/s for small jobs and rows/s for the CSV job. Off
 * unless {@code -Dlull.bench=true}; see docs/BENCHMARKS.md for the command and the figures.
 */
@EnabledIfSystemProperty(named = "lull.bench", matches = "true")
class JobsBenchmark {
  @TempDir Path dir;

  static int intProperty(String name, int dflt) {
    return Integer.parseInt(System.getProperty(name, Integer.toString(dflt)));
  }

  @Test
  void smallJobsPerSecond() throws Exception {
    int n = intProperty("lull.bench.jobs", 1000);
    int workers = intProperty("lull.bench.workers", 4);
    EventLog events = new EventLog();
    try (Jobs jobs =
        Jobs.builder()
            .dataDirectory(dir)
            .workers(workers)
            .queueCapacity(n + 1)
            .listener(events)
            .handler("noop", job -> Map.of("ok", true))
            .build()
            .start()) {
      List<String> ids = new ArrayList<>(n);
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        ids.add(jobs.submit("noop", new ByteArrayInputStream(new byte[100]), ""));
      }
      long submitted = System.nanoTime();
      for (String id : ids)
        events.await(id, e -> e.state() == JobState.SUCCEEDED, Duration.ofMinutes(5));
      long done = System.nanoTime();
      System.out.printf(
          Locale.ROOT,
          "BENCH small jobs: %d jobs, %d workers: accepted %.0f jobs/s (%.2f ms each);"
              + " end to end %.0f jobs/s%n",
          n,
          workers,
          n / secs(submitted - t0),
          (submitted - t0) / 1e6 / n,
          n / secs(done - t0));
    }
  }

  @Test
  void csvRowsPerSecond() throws Exception {
    long megabytes = intProperty("lull.bench.csvMiB", 100);
    int pipelineWorkers = intProperty("lull.bench.pipelineWorkers", 2);
    EventLog events = new EventLog();
    try (Jobs jobs =
        Jobs.builder()
            .dataDirectory(dir)
            .workers(1)
            .listener(events)
            .handler("csv", CsvJob::process)
            .build()
            .start()) {
      CsvGenerator csv = new CsvGenerator((megabytes << 20) / CsvGenerator.ROW);
      long t0 = System.nanoTime();
      String id = jobs.submit("csv", csv, "chunk=1048576&workers=" + pipelineWorkers);
      long stored = System.nanoTime();
      events.await(id, e -> e.state() == JobState.SUCCEEDED, Duration.ofMinutes(10));
      long done = System.nanoTime();
      Job j = jobs.find(id).orElseThrow();
      assertThat(j.result().orElseThrow()).contains("\"rows\":" + csv.rowsRead);
      System.out.printf(
          Locale.ROOT,
          "BENCH csv: %d MiB, %d rows, %d pipeline workers: stored in %.2f s (%.0f MiB/s);"
              + " processed in %.2f s: %.0f rows/s, %.0f MiB/s%n",
          megabytes,
          csv.rowsRead,
          pipelineWorkers,
          secs(stored - t0),
          megabytes / secs(stored - t0),
          secs(done - stored),
          csv.rowsRead / secs(done - stored),
          megabytes / secs(done - stored));
    }
  }

  private static double secs(long nanos) {
    return nanos / 1e9;
  }
}
