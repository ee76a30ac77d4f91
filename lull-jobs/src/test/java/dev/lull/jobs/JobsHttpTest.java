package dev.lull.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lull.core.CancelledException;
import dev.lull.server.Router;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP side of jobs, over real sockets: 202, GET with progress, DELETE, list, 503. */
class JobsHttpTest {
  @TempDir Path dir;

  final EventLog events = new EventLog();

  /** Per job input: counted down when the handler has started and reported progress. */
  final Map<String, CountDownLatch> started = new ConcurrentHashMap<>();

  /** Per job input: the handler returns once this is counted down. */
  final Map<String, CountDownLatch> release = new ConcurrentHashMap<>();

  Jobs jobs;
  Http http;

  void start(int workers, int capacity) {
    jobs =
        Jobs.builder()
            .dataDirectory(dir)
            .workers(workers)
            .queueCapacity(capacity)
            .listener(events)
            .handler("echo", this::blockingEcho)
            .build()
            .start();
    Router.Builder router = Router.builder().post("/jobs/echo", jobs.acceptHandler("echo"));
    jobs.routes().forEach(router::route);
    http = new Http(router.build());
  }

  /** Reads its input, reports progress 1 of 2, waits for its latch, returns the input. */
  private Map<String, ?> blockingEcho(JobContext job) throws Exception {
    String input;
    try (InputStream in = job.input()) {
      input = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    job.progress(1, 2);
    started.computeIfAbsent(input, k -> new CountDownLatch(1)).countDown();
    try {
      release.computeIfAbsent(input, k -> new CountDownLatch(1)).await();
    } catch (InterruptedException e) {
      throw new CancelledException(job.context().cause().orElseThrow());
    }
    job.progress(2, 2);
    return Map.of("input", input, "attempt", job.attempt());
  }

  CountDownLatch started(String input) {
    return started.computeIfAbsent(input, k -> new CountDownLatch(1));
  }

  CountDownLatch release(String input) {
    return release.computeIfAbsent(input, k -> new CountDownLatch(1));
  }

  @AfterEach
  void tearDown() {
    release.values().forEach(CountDownLatch::countDown);
    if (http != null) http.close();
    if (jobs != null) jobs.close();
  }

  @Test
  void acceptAnswers202BeforeTheJobEndsAndGetShowsProgressThenResult() throws Exception {
    start(2, 10);
    HttpResponse<String> r = http.post("/jobs/echo?x=1", "hello");
    assertThat(r.statusCode()).isEqualTo(202);
    String id = JsonText.str(r.body(), "id");
    assertThat(r.headers().firstValue("Location")).contains("/jobs/" + id);
    assertThat(r.headers().firstValue("Content-Type")).contains("application/json");
    assertThat(JsonText.num(r.body(), "inputBytes")).isEqualTo(5);

    // The 202 came while the job cannot have finished: it waits for a latch only we release.
    assertThat(started("hello").await(20, TimeUnit.SECONDS)).isTrue();
    HttpResponse<String> running = http.get("/jobs/" + id);
    assertThat(running.statusCode()).isEqualTo(200);
    assertThat(JsonText.str(running.body(), "state")).isEqualTo("RUNNING");
    assertThat(JsonText.num(running.body(), "done")).isEqualTo(1);
    assertThat(JsonText.num(running.body(), "total")).isEqualTo(2);
    assertThat(JsonText.num(running.body(), "attempts")).isEqualTo(1);
    assertThat(JsonText.isNull(running.body(), "finishedAt")).isTrue();

    release("hello").countDown();
    events.await(id, JobState.SUCCEEDED);
    HttpResponse<String> done = http.get("/jobs/" + id);
    assertThat(JsonText.str(done.body(), "state")).isEqualTo("SUCCEEDED");
    assertThat(done.body())
        .contains("\"result\":{", "\"input\":\"hello\"", "\"attempt\":1")
        .doesNotContain("\"result\":null");
    assertThat(JsonText.num(done.body(), "done")).isEqualTo(2);
    assertThat(JsonText.str(done.body(), "finishedAt")).isNotNull();
    // QUEUED and RUNNING are told on different threads: their order is not guaranteed.
    assertThat(events.states(id))
        .hasSize(3)
        .contains("QUEUED/0", "RUNNING/1")
        .endsWith("SUCCEEDED/1");
  }

  @Test
  void deleteCancelsARunningJob() throws Exception {
    start(2, 10);
    String id = JsonText.str(http.post("/jobs/echo", "cancel-me").body(), "id");
    assertThat(started("cancel-me").await(20, TimeUnit.SECONDS)).isTrue();

    HttpResponse<String> del = http.delete("/jobs/" + id);
    assertThat(del.statusCode()).isEqualTo(202);
    assertThat(del.body()).contains("\"cancelRequested\":true");
    events.await(id, JobState.CANCELLED);
    HttpResponse<String> after = http.get("/jobs/" + id);
    assertThat(JsonText.str(after.body(), "state")).isEqualTo("CANCELLED");
    // Deleting a finished job is a conflict, and changes nothing.
    HttpResponse<String> again = http.delete("/jobs/" + id);
    assertThat(again.statusCode()).isEqualTo(409);
    assertThat(JsonText.str(again.body(), "state")).isEqualTo("CANCELLED");
  }

  @Test
  void deleteCancelsAQueuedJobAtOnce() throws Exception {
    start(1, 10);
    String first = JsonText.str(http.post("/jobs/echo", "first").body(), "id");
    assertThat(started("first").await(20, TimeUnit.SECONDS)).isTrue();
    String second = JsonText.str(http.post("/jobs/echo", "second").body(), "id");
    assertThat(JsonText.str(http.get("/jobs/" + second).body(), "state")).isEqualTo("QUEUED");
    assertThat(jobs.queued()).isEqualTo(1);

    HttpResponse<String> del = http.delete("/jobs/" + second);
    assertThat(del.statusCode()).isEqualTo(200);
    assertThat(JsonText.str(del.body(), "state")).isEqualTo("CANCELLED");
    assertThat(jobs.queued()).isZero();

    release("first").countDown();
    events.await(first, JobState.SUCCEEDED);
    assertThat(events.states(second)).containsExactly("QUEUED/0", "CANCELLED/0");
    assertThat(dir.resolve("inputs").toFile().list()).isEmpty(); // inputs of final jobs deleted
  }

  @Test
  void intakeBeyondTheQueueCapacityAnswers503WithRetryAfter() throws Exception {
    start(1, 2);
    String a = JsonText.str(http.post("/jobs/echo", "a").body(), "id");
    String b = JsonText.str(http.post("/jobs/echo", "b").body(), "id");
    HttpResponse<String> full = http.post("/jobs/echo", "c");
    assertThat(full.statusCode()).isEqualTo(503);
    assertThat(full.headers().firstValue("Retry-After")).contains("5");
    assertThat(JsonText.str(full.body(), "error")).contains("job queue full");

    release("a").countDown();
    events.await(a, JobState.SUCCEEDED);
    // Room again.
    HttpResponse<String> ok = http.post("/jobs/echo", "d");
    assertThat(ok.statusCode()).isEqualTo(202);
    release("b").countDown();
    release("d").countDown();
    events.await(b, JobState.SUCCEEDED);
  }

  @Test
  void listPagesByCreationOrder() throws Exception {
    start(2, 10);
    String[] ids = new String[3];
    for (int i = 0; i < 3; i++) {
      release("n" + i).countDown();
      ids[i] = JsonText.str(http.post("/jobs/echo", "n" + i).body(), "id");
    }
    HttpResponse<String> page1 = http.get("/jobs?limit=2");
    assertThat(page1.statusCode()).isEqualTo(200);
    assertThat(page1.body()).contains(ids[0], ids[1]).doesNotContain(ids[2]);
    assertThat(JsonText.str(page1.body(), "next")).isEqualTo(ids[1]);
    HttpResponse<String> page2 = http.get("/jobs?limit=2&after=" + ids[1]);
    assertThat(page2.body()).contains(ids[2]).doesNotContain(ids[0]);
    assertThat(JsonText.isNull(page2.body(), "next")).isTrue();
    assertThat(http.get("/jobs?limit=0").statusCode()).isEqualTo(400);
  }

  @Test
  void unknownJobIs404() throws Exception {
    start(1, 10);
    assertThat(http.get("/jobs/01nonexistent").statusCode()).isEqualTo(404);
    assertThat(http.delete("/jobs/01nonexistent").statusCode()).isEqualTo(404);
  }

  @Test
  void onceDrainingIntakeAnswers503AndQueuedJobsStayInTheStore() throws Exception {
    start(1, 10);
    String running = JsonText.str(http.post("/jobs/echo", "r").body(), "id");
    assertThat(started("r").await(20, TimeUnit.SECONDS)).isTrue();
    String queued = JsonText.str(http.post("/jobs/echo", "q").body(), "id");

    jobs.drain(); // what the lifecycle's DRAINING does
    HttpResponse<String> refused = http.post("/jobs/echo", "late");
    assertThat(refused.statusCode()).isEqualTo(503);
    assertThat(refused.headers().firstValue("Retry-After")).isPresent();
    assertThat(JsonText.str(refused.body(), "error")).contains("stopping");

    release("r").countDown();
    release("q").countDown();
    events.await(running, JobState.SUCCEEDED);
    assertThat(JsonText.str(http.get("/jobs/" + queued).body(), "state")).isEqualTo("QUEUED");
    assertThat(jobs.queued()).isZero(); // not started, not held as activity here
  }
}
