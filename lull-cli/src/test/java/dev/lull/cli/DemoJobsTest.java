package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.core.Context;
import dev.lull.jobs.JobContext;
import dev.lull.jobs.JobEvent;
import dev.lull.jobs.JobState;
import dev.lull.jobs.Jobs;
import dev.lull.server.Router;
import dev.lull.server.Server;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoJobsTest {
  @TempDir Path dir;

  static String csv(int rows) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < rows; i++)
      b.append(i).append(",name-").append(i).append(i % 3 == 0 ? "\r\n" : "\n");
    return b.toString();
  }

  static long checksum(String csv) {
    long sum = 0;
    CRC32 crc = new CRC32();
    for (String line : csv.split("\r?\n")) {
      if (line.isEmpty()) continue;
      crc.reset();
      crc.update(line.getBytes(StandardCharsets.UTF_8));
      sum += crc.getValue();
    }
    return sum;
  }

  @Test
  void postJobsCsvAnswers202AndTheJobCountsRowsAndChecksumsThem() throws Exception {
    CompletableFuture<JobEvent> done = new CompletableFuture<>();
    Jobs jobs =
        DemoJobs.register(Jobs.builder().dataDirectory(dir))
            .listener(
                e -> {
                  if (e.state().isFinal()) done.complete(e);
                })
            .build()
            .start();
    Server server =
        Server.builder()
            .listen("127.0.0.1:0")
            .ioThreads(1)
            .handler(DemoJobs.addRoutes(Router.builder(), jobs).build())
            .build()
            .start();
    try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
      String body = csv(5000);
      URI base = URI.create("http://127.0.0.1:" + server.listeners().get(0).port());
      HttpResponse<String> r =
          client.send(
              HttpRequest.newBuilder(base.resolve("/jobs/csv?chunk=4096&workers=3"))
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(202);
      String location = r.headers().firstValue("Location").orElseThrow();
      assertThat(done.get(30, TimeUnit.SECONDS).state()).isEqualTo(JobState.SUCCEEDED);
      String job =
          client
              .send(
                  HttpRequest.newBuilder(base.resolve(location)).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      assertThat(job)
          .contains("\"state\":\"SUCCEEDED\"")
          .contains("\"rows\":5000")
          .contains("\"checksum\":\"" + Long.toHexString(checksum(body)) + "\"")
          .contains("\"chunksResumed\":0");
    } finally {
      server.close();
      jobs.close();
    }
  }

  @Test
  void aResumedAttemptSkipsCommittedChunksAndCountsThemOnce() throws Exception {
    byte[] input = csv(3000).getBytes(StandardCharsets.UTF_8);
    Map<String, String> checkpoints = new TreeMap<>();
    // An earlier attempt committed chunk 0 (with marker values, to see it is not recomputed).
    checkpoints.put(DemoJobs.chunkKey(0), "1000000,0,4096");
    Map<String, ?> result =
        DemoJobs.csv(new FakeContext(input, "chunk=4096&workers=2", checkpoints));
    int chunk0Rows = 0;
    for (String line : new String(input, 0, 4096, StandardCharsets.UTF_8).split("\n", -1))
      chunk0Rows++;
    // Chunk 0 is counted from its checkpoint, not read again: 1,000,000 instead of its real rows.
    assertThat((Long) result.get("rows")).isGreaterThan(1_000_000L).isLessThan(1_000_000L + 3000);
    assertThat(result.get("chunksResumed")).isEqualTo(1);
    assertThat(chunk0Rows).isPositive();
  }

  /** A JobContext over an in-memory input and checkpoint map. */
  record FakeContext(byte[] bytes, String query, Map<String, String> checkpoints)
      implements JobContext {
    @Override
    public String id() {
      return "test";
    }

    @Override
    public String type() {
      return DemoJobs.CSV;
    }

    @Override
    public int attempt() {
      return 2;
    }

    @Override
    public Context context() {
      return Context.background();
    }

    @Override
    public InputStream input() {
      return new ByteArrayInputStream(bytes);
    }

    @Override
    public long inputSize() {
      return bytes.length;
    }

    @Override
    public Optional<String> contentType() {
      return Optional.empty();
    }

    @Override
    public Optional<String> parameter(String name) {
      for (String p : query.split("&")) {
        if (p.startsWith(name + "=")) return Optional.of(p.substring(name.length() + 1));
      }
      return Optional.empty();
    }

    @Override
    public void progress(long done, long total) {}

    @Override
    public Optional<String> checkpoint(String key) {
      synchronized (checkpoints) {
        return Optional.ofNullable(checkpoints.get(key));
      }
    }

    @Override
    public Map<String, String> checkpoints(String prefix) {
      synchronized (checkpoints) {
        Map<String, String> m = new TreeMap<>();
        checkpoints.forEach(
            (k, v) -> {
              if (k.startsWith(prefix)) m.put(k, v);
            });
        return m;
      }
    }

    @Override
    public void done(String key, String value) {
      synchronized (checkpoints) {
        checkpoints.put(key, value);
      }
    }
  }
}
