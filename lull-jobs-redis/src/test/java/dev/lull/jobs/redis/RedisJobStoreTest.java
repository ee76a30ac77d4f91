package dev.lull.jobs.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.jobs.Job;
import dev.lull.jobs.JobState;
import dev.lull.jobs.spi.InputSink;
import dev.lull.jobs.spi.JobStore;
import dev.lull.jobs.spi.Lease;
import dev.lull.jobs.spi.NewJob;
import dev.lull.jobs.spi.Outcome;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/** The {@link JobStore} contract on a real redis-server (the SQLite store's tests, and more). */
class RedisJobStoreTest {
  @TempDir static Path redisDir;
  static RedisServer server;

  @TempDir Path dir;
  RedisJobStore s;
  final Set<String> t = Set.of("t");

  @BeforeAll
  static void startRedis() throws Exception {
    server = RedisServer.start(redisDir);
  }

  @AfterAll
  static void stopRedis() throws Exception {
    if (server != null) server.close();
  }

  @BeforeEach
  void open(TestInfo info) {
    s = store(Duration.ofSeconds(1), info.getTestMethod().orElseThrow().getName());
  }

  RedisJobStore store(Duration poll, String prefix) {
    return RedisJobStore.builder(server.uri())
        .inputDirectory(dir.resolve("inputs"))
        .prefix(prefix)
        .pollInterval(poll)
        .reclaimIdle(Duration.ZERO)
        .open();
  }

  @AfterEach
  void close() {
    s.close();
  }

  static Instant now() {
    return Instant.now();
  }

  String add(String id, String input, int maxAttempts) throws Exception {
    try (InputSink sink = s.createInput(id)) {
      sink.write(input.getBytes(StandardCharsets.UTF_8));
      long n = sink.commit();
      s.insert(new NewJob(id, "t", maxAttempts, now(), n, Optional.of("text/csv"), "a=1"));
    }
    return id;
  }

  JobStore.Claim claim(String owner, Duration lease) {
    Instant now = now();
    return s.claim(t, owner, now, now.plus(lease)).orElseThrow();
  }

  Job find(String id) {
    return s.find(id).orElseThrow();
  }

  @Test
  void anInputIsInvisibleUntilCommittedAndDiscardedIfNot() throws Exception {
    try (InputSink sink = s.createInput("abc")) {
      sink.write(new byte[] {1, 2, 3});
      assertThat(dir.resolve("inputs/abc")).doesNotExist();
    }
    assertThat(dir.resolve("inputs").toFile().list()).isEmpty();
    add("def", "hello", 2);
    try (InputStream in = s.openInput("def")) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("hello");
    }
    Job j = find("def");
    assertThat(j.state()).isEqualTo(JobState.QUEUED);
    assertThat(j.inputBytes()).isEqualTo(5);
    assertThat(j.contentType()).contains("text/csv");
    assertThat(j.parameters()).isEqualTo("a=1");
    assertThat(j.progressTotal()).isEqualTo(-1);
    assertThat(s.find("nope")).isEmpty();
  }

  @Test
  void listPagesByIdAndUnfinishedSkipsFinalJobs() throws Exception {
    for (String id : List.of("e", "b", "d", "a", "c")) add(id, "x", 2);
    assertThat(s.list(null, 2)).extracting(Job::id).containsExactly("a", "b");
    assertThat(s.list("b", 2)).extracting(Job::id).containsExactly("c", "d");
    assertThat(s.list("d", 2)).extracting(Job::id).containsExactly("e");
    JobStore.Claim c = claim("me", Duration.ofSeconds(30));
    assertThat(c.job().id()).isEqualTo("e"); // the first inserted: the stream is FIFO
    s.finish(c.lease(), new Outcome.Succeeded(null), now(), 0, -1);
    assertThat(s.unfinished(t)).extracting(Job::id).containsExactly("a", "b", "c", "d");
    assertThat(s.unfinished(Set.of("other"))).isEmpty();
  }

  @Test
  void aJobIsClaimedByExactlyOneOfManyConcurrentClaimers() throws Exception {
    for (int i = 0; i < 40; i++) add(String.format("j%02d", i), "x", 2);
    ConcurrentHashMap<String, String> owners = new ConcurrentHashMap<>();
    AtomicInteger duplicates = new AtomicInteger();
    try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
      List<Future<?>> fs = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        String owner = "w" + w;
        fs.add(
            pool.submit(
                () -> {
                  while (true) {
                    Instant now = now();
                    Optional<JobStore.Claim> c = s.claim(t, owner, now, now.plusSeconds(30));
                    if (c.isEmpty()) return null;
                    if (owners.putIfAbsent(c.get().job().id(), owner) != null) {
                      duplicates.incrementAndGet();
                    }
                    assertThat(c.get().lease().attempt()).isEqualTo(1);
                  }
                }));
      }
      for (Future<?> f : fs) f.get(60, TimeUnit.SECONDS);
    }
    assertThat(duplicates).hasValue(0);
    assertThat(owners).hasSize(40);
    assertThat(s.list(null, 100)).allMatch(j -> j.state() == JobState.RUNNING);
  }

  @Test
  void writesAreFencedByTheLease() throws Exception {
    add("a", "x", 2);
    // A lease that is already over by Redis's clock: the owner's instance "died" at once.
    JobStore.Claim c = claim("me", Duration.ofSeconds(-1));
    assertThat(c.job().state()).isEqualTo(JobState.RUNNING);
    assertThat(c.lease()).isEqualTo(new Lease("a", "me", 1));
    Lease stale = new Lease("a", "me", 2);
    Lease other = new Lease("a", "you", 1);
    assertThat(s.renew(stale, now().plusSeconds(60), 1, 2)).isEqualTo(JobStore.Renewal.LOST);
    assertThat(s.renew(other, now().plusSeconds(60), 1, 2)).isEqualTo(JobStore.Renewal.LOST);
    assertThat(s.finish(stale, new Outcome.Succeeded(null), now(), 0, -1)).isFalse();
    assertThatThrownBy(() -> s.putCheckpoint(other, "k", "v"))
        .isInstanceOf(IllegalStateException.class);
    s.putCheckpoint(c.lease(), "k", "v");
    assertThat(s.checkpoint("a", "k")).contains("v");
    // Expired and reclaimed: the old lease can no longer write.
    assertThat(s.reclaimExpired(now())).isEqualTo(1);
    assertThat(s.finish(c.lease(), new Outcome.Succeeded("{}"), now(), 0, -1)).isFalse();
    assertThatThrownBy(() -> s.putCheckpoint(c.lease(), "k", "w"))
        .isInstanceOf(IllegalStateException.class);
    Job a = find("a");
    assertThat(a.state()).isEqualTo(JobState.QUEUED);
    assertThat(a.attempts()).isEqualTo(1); // the dead attempt counts
    assertThat(a.error()).get().asString().contains("did not finish");
    assertThat(s.checkpoint("a", "k")).contains("v"); // kept for the next attempt
    // Another instance takes it: attempt 2, and its lease is the one that writes now.
    JobStore.Claim c2 = claim("you", Duration.ofSeconds(30));
    assertThat(c2.lease()).isEqualTo(new Lease("a", "you", 2));
    assertThat(s.renew(c.lease(), now().plusSeconds(60), 1, 2)).isEqualTo(JobStore.Renewal.LOST);
    assertThat(s.finish(c2.lease(), new Outcome.Succeeded("{\"ok\":true}"), now(), 1, 1)).isTrue();
    assertThat(find("a").result()).contains("{\"ok\":true}");
  }

  @Test
  void aRenewedLeaseIsNotReclaimedAndCarriesProgress() throws Exception {
    add("a", "x", 2);
    JobStore.Claim c = claim("me", Duration.ofSeconds(-1));
    assertThat(s.renew(c.lease(), now().plusSeconds(30), 7, 10))
        .isEqualTo(JobStore.Renewal.RENEWED);
    assertThat(s.reclaimExpired(now())).isZero();
    Job a = find("a");
    assertThat(a.state()).isEqualTo(JobState.RUNNING);
    assertThat(a.progressDone()).isEqualTo(7);
    assertThat(a.progressTotal()).isEqualTo(10);
    // Not reclaimed after renewals either (the reclaimer took the entry; renew takes it back).
    assertThat(s.reclaimExpired(now())).isZero();
    assertThat(s.renew(c.lease(), now().plusSeconds(30), 8, 10))
        .isEqualTo(JobStore.Renewal.RENEWED);
    assertThat(s.finish(c.lease(), new Outcome.Succeeded(null), now(), 10, 10)).isTrue();
    assertThat(find("a").state()).isEqualTo(JobState.SUCCEEDED);
  }

  @Test
  void aDeadLastAttemptFailsAndADeadCancelledJobIsCancelled() throws Exception {
    add("a", "x", 1);
    claim("dead", Duration.ofSeconds(-1));
    add("b", "y", 3);
    JobStore.Claim b = claim("dead", Duration.ofSeconds(-1));
    assertThat(b.job().id()).isEqualTo("b");
    Job cancelling = s.requestCancel("b", now()).orElseThrow();
    assertThat(cancelling.state()).isEqualTo(JobState.RUNNING);
    assertThat(cancelling.cancelRequested()).isTrue();
    assertThat(s.reclaimExpired(now())).isEqualTo(2);
    assertThat(find("a").state()).isEqualTo(JobState.FAILED);
    assertThat(find("b").state()).isEqualTo(JobState.CANCELLED);
    assertThat(dir.resolve("inputs/a")).doesNotExist();
    assertThat(dir.resolve("inputs/b")).doesNotExist();
    assertThat(s.unfinished(t)).isEmpty();
    assertThat(s.claim(t, "me", now(), now().plusSeconds(30))).isEmpty();
  }

  @Test
  void aRunningJobIsToldOfItsCancellationAndReleasingItCancels() throws Exception {
    add("a", "x", 2);
    JobStore.Claim c = claim("me", Duration.ofSeconds(30));
    s.requestCancel("a", now());
    assertThat(s.renew(c.lease(), now().plusSeconds(30), 0, -1))
        .isEqualTo(JobStore.Renewal.CANCEL_REQUESTED);
    assertThat(s.finish(c.lease(), new Outcome.Released(), now(), 0, -1)).isTrue();
    assertThat(find("a").state()).isEqualTo(JobState.CANCELLED);
  }

  @Test
  void aQueuedJobIsCancelledAtOnceAndAFinalOneStays() throws Exception {
    add("a", "x", 2);
    Job a = s.requestCancel("a", now()).orElseThrow();
    assertThat(a.state()).isEqualTo(JobState.CANCELLED);
    assertThat(a.finishedAt()).isPresent();
    assertThat(dir.resolve("inputs/a")).doesNotExist();
    assertThat(s.claim(t, "me", now(), now().plusSeconds(30))).isEmpty();
    assertThat(s.nextRunAfter(t)).get().matches(i -> !i.isBefore(now().plusMillis(500)));
    assertThat(s.requestCancel("a", now()).orElseThrow().state()).isEqualTo(JobState.CANCELLED);
    assertThat(s.requestCancel("nope", now())).isEmpty();
  }

  @Test
  void retriesWaitForTheirBackoffInRedisTime() throws Exception {
    s.close();
    s = store(Duration.ofHours(1), "retriesWaitForTheirBackoffInRedisTime");
    add("a", "x", 3);
    JobStore.Claim c = claim("me", Duration.ofSeconds(30));
    Instant now = now();
    assertThat(s.finish(c.lease(), new Outcome.Retry("boom", now.plusSeconds(60)), now, 0, -1))
        .isTrue();
    Job a = find("a");
    assertThat(a.state()).isEqualTo(JobState.QUEUED);
    assertThat(a.error()).contains("boom");
    assertThat(a.runAfter()).contains(Instant.ofEpochMilli(now.plusSeconds(60).toEpochMilli()));
    assertThat(s.claim(t, "me", now(), now().plusSeconds(30))).isEmpty(); // not due
    Instant next = s.nextRunAfter(t).orElseThrow();
    assertThat(next).isBetween(now().plusSeconds(50), now().plusSeconds(61));
    // Nothing of that type: look again after the poll interval (other instances insert jobs).
    assertThat(s.nextRunAfter(Set.of("other")).orElseThrow())
        .isAfter(now().plus(Duration.ofMinutes(59))); // polling: other instances may insert jobs
    // Cancel while waiting: it leaves the delayed set too.
    add("b", "y", 3);
    JobStore.Claim cb = claim("me", Duration.ofSeconds(30));
    assertThat(cb.job().id()).isEqualTo("b");
    now = now();
    s.finish(cb.lease(), new Outcome.Retry("again", now), now, 0, -1); // due at once
    assertThat(s.nextRunAfter(t).orElseThrow()).isBefore(now().plusSeconds(1));
    JobStore.Claim again = claim("me", Duration.ofSeconds(30));
    assertThat(again.lease()).isEqualTo(new Lease("b", "me", 2));
    assertThat(again.job().runAfter()).isEmpty();
  }

  @Test
  void releasedAttemptsAreNotCountedAndTheJobIsDueAtOnce() throws Exception {
    add("a", "x", 2);
    JobStore.Claim c = claim("me", Duration.ofSeconds(30));
    assertThat(c.job().attempts()).isEqualTo(1);
    s.finish(c.lease(), new Outcome.Released(), now(), 3, 10);
    Job a = find("a");
    assertThat(a.state()).isEqualTo(JobState.QUEUED);
    assertThat(a.attempts()).isZero();
    assertThat(a.progressDone()).isEqualTo(3);
    Instant before = now();
    assertThat(s.nextRunAfter(t).orElseThrow()).isBefore(before.plusMillis(500));
    assertThat(s.claim(Set.of("other"), "me", now(), now().plusSeconds(30))).isEmpty();
    assertThat(claim("you", Duration.ofSeconds(30)).lease()).isEqualTo(new Lease("a", "you", 1));
  }

  @Test
  void aFinalJobLosesItsInputAndCheckpointsAndIsDeletedAfterRetention() throws Exception {
    add("a", "x", 2);
    JobStore.Claim c = claim("me", Duration.ofSeconds(30));
    s.putCheckpoint(c.lease(), "chunk-1", "v1");
    s.putCheckpoint(c.lease(), "chunk-0", "v0");
    s.putCheckpoint(c.lease(), "other", "o");
    assertThat(s.checkpoints("a", "chunk-"))
        .containsExactly(
            java.util.Map.entry("chunk-0", "v0"), java.util.Map.entry("chunk-1", "v1"));
    Instant t0 = now();
    assertThat(s.finish(c.lease(), new Outcome.Succeeded("{\"n\":1}"), t0, 5, 5)).isTrue();
    Job a = find("a");
    assertThat(a.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(a.result()).contains("{\"n\":1}");
    assertThat(a.progressDone()).isEqualTo(5);
    assertThat(a.finishedAt()).contains(Instant.ofEpochMilli(t0.toEpochMilli()));
    assertThat(s.checkpoints("a", "")).isEmpty();
    assertThat(dir.resolve("inputs/a")).doesNotExist();
    assertThat(s.finish(c.lease(), new Outcome.Failed("late"), t0, 0, -1)).isFalse();
    assertThat(s.deleteFinished(t0)).isZero();
    assertThat(s.deleteFinished(t0.plusMillis(1))).isEqualTo(1);
    assertThat(s.find("a")).isEmpty();
    assertThat(s.list(null, 10)).isEmpty();
  }

  @Test
  void failedIsFinal() throws Exception {
    add("a", "x", 2);
    JobStore.Claim c = claim("me", Duration.ofSeconds(30));
    assertThat(s.finish(c.lease(), new Outcome.Failed("bad input"), now(), 0, -1)).isTrue();
    Job a = find("a");
    assertThat(a.state()).isEqualTo(JobState.FAILED);
    assertThat(a.error()).contains("bad input");
    assertThat(s.requestCancel("a", now()).orElseThrow().state()).isEqualTo(JobState.FAILED);
    assertThat(s.unfinished(t)).isEmpty();
  }
}
