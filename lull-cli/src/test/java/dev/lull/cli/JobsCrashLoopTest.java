package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 8, item 4: crash safety of jobs, end to end over HTTP through {@code lull demo} with its
 * SQLite job store. Each cycle starts an instance on the same data directory, submits CSV jobs
 * ({@code POST /jobs/csv}) from three clients, and SIGKILLs the instance at a random moment, during
 * intake or processing; the next cycle starts the next instance, which resumes what was left. The
 * last instance is left running until every job is final. Then: every job answered {@code 202}
 * exists and SUCCEEDED with exactly the result one run over its input gives (rows, checksum,
 * chunks), and so does every other job in the store (a submission that got no answer may or may not
 * have become a job, but never a half-done or corrupt one).
 *
 * <p>The moments are random but seeded; the seed is printed and a failure message names it. System
 * properties: {@code lull.reliability.jobs.seed} (replay a run), {@code
 * lull.reliability.jobs.kills} (kill cycles, default 12).
 */
class JobsCrashLoopTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final int CHUNK = 4096;
  private static final String PARAMS = "?workers=2&chunk=" + CHUNK + "&rowWork=100us";
  private static final int CLIENTS = 3;
  private static final int JOBS_PER_CLIENT_AND_CYCLE = 4;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private final List<DemoInstance> started = new ArrayList<>();
  private final HttpClient client =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  @AfterEach
  void cleanUp() throws InterruptedException {
    for (DemoInstance d : started) d.close();
    client.close();
  }

  /** One kind of input: its bytes and what one run of the CSV job over them gives. */
  record Variant(int index, byte[] body, long rows, String checksum, int chunks) {
    static Variant of(int index, int rows) {
      StringBuilder b = new StringBuilder();
      long sum = 0;
      CRC32 crc = new CRC32();
      Set<Long> chunks = new HashSet<>();
      for (int i = 0; i < rows; i++) {
        chunks.add((long) b.length() / CHUNK); // chunk i: the lines that start in it
        String line =
            String.format(Locale.ROOT, "%06d,v%d,%016x", i, index, i * 0x9E3779B97F4A7C15L ^ index);
        crc.reset();
        crc.update(line.getBytes(StandardCharsets.US_ASCII));
        sum += crc.getValue();
        b.append(line).append('\n');
      }
      return new Variant(
          index,
          b.toString().getBytes(StandardCharsets.US_ASCII),
          rows,
          Long.toHexString(sum),
          chunks.size());
    }
  }

  /** What became of the submissions. */
  private final AtomicInteger sent = new AtomicInteger();

  private final AtomicInteger noAnswer = new AtomicInteger();
  private final Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
  private final Map<String, Variant> accepted = new ConcurrentHashMap<>();

  @Test
  void everyJobAnswered202CompletesExactlyOnceAcrossRandomSigkills() throws Exception {
    long seed = Long.getLong("lull.reliability.jobs.seed", System.nanoTime());
    int kills = Integer.getInteger("lull.reliability.jobs.kills", 12);
    String replay = "seed " + seed + " (replay: -Dlull.reliability.jobs.seed=" + seed + ")";
    System.out.println("jobs crash loop: " + replay);
    Random random = new Random(seed);
    List<Variant> variants = new ArrayList<>();
    for (int v = 0; v < 4; v++) variants.add(Variant.of(v, 1500 + 500 * v));
    Map<Long, Variant> bySize = new TreeMap<>();
    for (Variant v : variants) bySize.put((long) v.body().length, v);
    assertThat(bySize).as("sizes tell the variants apart").hasSize(variants.size());

    long start = System.nanoTime();
    List<String> killedAt = new ArrayList<>();
    for (int cycle = 1; cycle <= kills + 1; cycle++) {
      DemoInstance d = startInstance(cycle);
      List<Thread> clients = submitters(d, random, variants);
      if (cycle > kills) {
        for (Thread t : clients) t.join(WAIT);
        break; // the last instance runs on
      }
      long delayMillis = 50 + random.nextInt(1200);
      // The random moment: a bounded wait on the process, which also notices if it died.
      assertThat(d.process().waitFor(delayMillis, TimeUnit.MILLISECONDS))
          .as(d.name() + " exited by itself; " + replay + "\n" + d.log())
          .isFalse();
      d.kill();
      assertThat(d.awaitExit(WAIT)).as("SIGKILL").isEqualTo(137);
      killedAt.add(delayMillis + "ms");
      for (Thread t : clients) t.join(WAIT);
    }
    DemoInstance last = started.get(started.size() - 1);
    URI base = URI.create("http://127.0.0.1:" + last.port());
    List<JsonNode> jobs = awaitAllFinal(last, base, replay);
    long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    int retriedAfterKill = 0;
    int resumed = 0;
    int maxAttempts = 0;
    Map<String, JsonNode> byId = new LinkedHashMap<>();
    for (JsonNode j : jobs) {
      String id = j.get("id").asText();
      byId.put(id, j);
      String what = "job " + id + "; " + replay + "\n" + j;
      assertThat(j.get("state").asText()).as(what).isEqualTo("SUCCEEDED");
      Variant v = bySize.get(j.get("inputBytes").asLong());
      assertThat(v).as("input of a known size: " + what).isNotNull();
      if (accepted.containsKey(id)) assertThat(accepted.get(id)).as(what).isEqualTo(v);
      JsonNode result = j.get("result");
      assertThat(result.get("rows").asLong()).as("rows of " + what).isEqualTo(v.rows());
      assertThat(result.get("checksum").asText()).as("checksum of " + what).isEqualTo(v.checksum());
      assertThat(result.get("chunks").asInt()).as("chunks of " + what).isEqualTo(v.chunks());
      int attempts = j.get("attempts").asInt();
      maxAttempts = Math.max(maxAttempts, attempts);
      if (attempts > 1) retriedAfterKill++;
      if (result.get("chunksResumed").asInt() > 0) resumed++;
    }
    String report =
        String.format(
            Locale.ROOT,
            "jobs crash loop, %s: %d SIGKILLs (after %s) in %.1fs; %d submissions: %d answered"
                + " 202, %d no answer (killed during intake), statuses %s; %d jobs in the store"
                + " (%d without a 202 seen), all SUCCEEDED with the exact result; %d ran again"
                + " after a kill (at most %d attempts), %d resumed from checkpoints",
            replay,
            kills,
            killedAt,
            took / 1000.0,
            sent.get(),
            accepted.size(),
            noAnswer.get(),
            new TreeMap<>(statuses),
            jobs.size(),
            jobs.size() - accepted.size(),
            retriedAfterKill,
            maxAttempts,
            resumed);
    System.out.println(report);
    assertThat(byId.keySet()).as("every 202 is a job; " + report).containsAll(accepted.keySet());
    assertThat(accepted).as(report).isNotEmpty();
    assertThat(statuses.keySet()).as("only 202s or no answer; " + report).containsOnly(202);
    // The loop did hit running jobs (else it proved nothing about processing).
    assertThat(retriedAfterKill).as(report).isPositive();

    last.terminate();
    assertThat(last.awaitExit(WAIT)).as(last.log()).isZero();
  }

  private DemoInstance startInstance(int cycle) throws Exception {
    DemoInstance d =
        DemoInstance.start(
            "instance " + cycle,
            WAIT,
            "--listen",
            "127.0.0.1:0",
            "--idle-timeout",
            "0",
            "--jobs-dir",
            dir.resolve("jobs").toString(),
            // Never FAILED for having been killed too often: the subject is the result.
            "--jobs-max-attempts",
            "100");
    started.add(d);
    return d;
  }

  /** Starts the clients of one cycle; each submits a few jobs, stopping at the first failure. */
  private List<Thread> submitters(DemoInstance d, Random random, List<Variant> variants) {
    URI uri = URI.create("http://127.0.0.1:" + d.port() + "/jobs/csv" + PARAMS);
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      List<Variant> mine = new ArrayList<>();
      for (int i = 0; i < JOBS_PER_CLIENT_AND_CYCLE; i++) {
        mine.add(variants.get(random.nextInt(variants.size())));
      }
      threads.add(
          Thread.ofVirtual()
              .name("submit-" + d.name() + "-" + c)
              .start(
                  () -> {
                    for (Variant v : mine) {
                      if (!submit(uri, v)) return; // the instance is gone
                    }
                  }));
    }
    return threads;
  }

  /** POSTs one job; false if no answer came (the instance was killed). */
  private boolean submit(URI uri, Variant v) {
    sent.incrementAndGet();
    try {
      HttpResponse<String> r =
          client.send(
              HttpRequest.newBuilder(uri)
                  .POST(HttpRequest.BodyPublishers.ofByteArray(v.body()))
                  .header("Content-Type", "text/csv")
                  .timeout(Duration.ofSeconds(30))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      statuses.computeIfAbsent(r.statusCode(), s -> new AtomicInteger()).incrementAndGet();
      if (r.statusCode() == 202) accepted.put(JSON.readTree(r.body()).get("id").asText(), v);
      return true;
    } catch (IOException e) {
      noAnswer.incrementAndGet();
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Polls {@code GET /jobs} (every 100 ms) until no job is queued or running; returns them all. */
  private List<JsonNode> awaitAllFinal(DemoInstance d, URI base, String replay) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      List<JsonNode> all = listJobs(base);
      long pending =
          all.stream()
              .map(j -> j.get("state").asText())
              .filter(s -> s.equals("QUEUED") || s.equals("RUNNING"))
              .count();
      if (pending == 0) return all;
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError(pending + " jobs not final after " + WAIT + "; " + replay);
      }
      assertThat(d.process().waitFor(100, TimeUnit.MILLISECONDS))
          .as(d.name() + " exited; " + replay + "\n" + d.log())
          .isFalse();
    }
  }

  private List<JsonNode> listJobs(URI base) throws Exception {
    List<JsonNode> all = new ArrayList<>();
    String after = null;
    do {
      String q = "/jobs?limit=1000" + (after == null ? "" : "&after=" + after);
      HttpResponse<String> r =
          client.send(
              HttpRequest.newBuilder(base.resolve(q)).timeout(Duration.ofSeconds(30)).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonNode page = JSON.readTree(r.body());
      page.get("jobs").forEach(all::add);
      JsonNode next = page.get("next");
      after = next == null || next.isNull() ? null : next.asText();
    } while (after != null);
    return all;
  }
}
