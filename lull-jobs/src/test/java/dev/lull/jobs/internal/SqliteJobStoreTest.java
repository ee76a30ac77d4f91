package dev.lull.jobs.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.jobs.Job;
import dev.lull.jobs.JobState;
import dev.lull.jobs.spi.InputSink;
import dev.lull.jobs.spi.JobStore;
import dev.lull.jobs.spi.JobStoreException;
import dev.lull.jobs.spi.Lease;
import dev.lull.jobs.spi.NewJob;
import dev.lull.jobs.spi.Outcome;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteJobStoreTest {
  @TempDir Path dir;
  final Instant t0 = Instant.parse("2030-01-01T00:00:00Z");

  String add(SqliteJobStore s, String id, String input) throws Exception {
    try (InputSink sink = s.createInput(id)) {
      sink.write(input.getBytes(StandardCharsets.UTF_8));
      long n = sink.commit();
      s.insert(new NewJob(id, "t", 2, t0, n, Optional.empty(), "a=1"));
    }
    return id;
  }

  @Test
  void theDatabaseIsInWalModeAndOneProcessHoldsTheDirectory() throws Exception {
    try (SqliteJobStore s = SqliteJobStore.open(dir, t0)) {
      assertThatThrownBy(() -> SqliteJobStore.open(dir, t0))
          .isInstanceOf(JobStoreException.class)
          .hasMessageContaining("in use by another process");
      try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("jobs.db"));
          ResultSet rs = c.createStatement().executeQuery("PRAGMA journal_mode")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualToIgnoringCase("wal");
      }
    }
    // Closed: the lock is free again.
    SqliteJobStore.open(dir, t0).close();
  }

  @Test
  void anInputIsInvisibleUntilCommittedAndDiscardedIfNot() throws Exception {
    try (SqliteJobStore s = SqliteJobStore.open(dir, t0)) {
      try (InputSink sink = s.createInput("abc")) {
        sink.write(new byte[] {1, 2, 3});
        assertThat(dir.resolve("inputs/abc")).doesNotExist();
      }
      assertThat(dir.resolve("inputs").toFile().list()).isEmpty();
      add(s, "def", "hello");
      try (InputStream in = s.openInput("def")) {
        assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("hello");
      }
    }
  }

  @Test
  void openingRequeuesWhatADeadProcessLeftRunningAndSweepsOrphanInputs() throws Exception {
    try (SqliteJobStore s = SqliteJobStore.open(dir, t0)) {
      add(s, "a", "x");
      add(s, "b", "y");
      s.claim(Set.of("t"), "dead", t0, t0.plusSeconds(30)).orElseThrow();
      JobStore.Claim b = s.claim(Set.of("t"), "dead", t0, t0.plusSeconds(30)).orElseThrow();
      s.finish(b.lease(), new Outcome.Retry("boom", t0), t0, 0, -1);
      s.claim(Set.of("t"), "dead", t0, t0.plusSeconds(30)).orElseThrow(); // b, attempt 2 of 2
    }
    Files.writeString(dir.resolve("inputs/orphan"), "no row");
    Files.writeString(dir.resolve("inputs/c.part"), "half an upload");
    try (SqliteJobStore s = SqliteJobStore.open(dir, t0.plusSeconds(1))) {
      Job a = s.find("a").orElseThrow();
      assertThat(a.state()).isEqualTo(JobState.QUEUED);
      assertThat(a.attempts()).isEqualTo(1); // the dead attempt counts
      assertThat(a.error()).get().asString().contains("did not finish");
      Job b = s.find("b").orElseThrow();
      assertThat(b.state()).isEqualTo(JobState.FAILED); // it was its last attempt
      assertThat(dir.resolve("inputs/orphan")).doesNotExist();
      assertThat(dir.resolve("inputs/c.part")).doesNotExist();
      assertThat(dir.resolve("inputs/b")).doesNotExist();
      assertThat(dir.resolve("inputs/a")).exists();
    }
  }

  @Test
  void writesAreFencedByTheLease() throws Exception {
    try (SqliteJobStore s = SqliteJobStore.open(dir, t0)) {
      add(s, "a", "x");
      JobStore.Claim c = s.claim(Set.of("t"), "me", t0, t0.plusSeconds(30)).orElseThrow();
      Lease stale = new Lease("a", "me", c.lease().attempt() + 1);
      assertThat(s.renew(stale, t0.plusSeconds(60), 1, 2)).isEqualTo(JobStore.Renewal.LOST);
      assertThat(s.finish(stale, new Outcome.Succeeded(null), t0, 0, -1)).isFalse();
      assertThatThrownBy(() -> s.putCheckpoint(stale, "k", "v"))
          .isInstanceOf(IllegalStateException.class);
      s.putCheckpoint(c.lease(), "k", "v");
      assertThat(s.checkpoint("a", "k")).contains("v");
      // Expired and reclaimed: the old lease can no longer write.
      assertThat(s.reclaimExpired(t0.plusSeconds(31))).isEqualTo(1);
      assertThat(s.finish(c.lease(), new Outcome.Succeeded("{}"), t0, 0, -1)).isFalse();
      assertThat(s.find("a").orElseThrow().state()).isEqualTo(JobState.QUEUED);
      assertThat(s.checkpoint("a", "k")).contains("v"); // kept for the next attempt
    }
  }

  @Test
  void aFinalJobLosesItsInputAndCheckpointsAndIsDeletedAfterRetention() throws Exception {
    try (SqliteJobStore s = SqliteJobStore.open(dir, t0)) {
      add(s, "a", "x");
      JobStore.Claim c = s.claim(Set.of("t"), "me", t0, t0.plusSeconds(30)).orElseThrow();
      s.putCheckpoint(c.lease(), "k", "v");
      assertThat(s.finish(c.lease(), new Outcome.Succeeded("{\"n\":1}"), t0, 5, 5)).isTrue();
      Job a = s.find("a").orElseThrow();
      assertThat(a.state()).isEqualTo(JobState.SUCCEEDED);
      assertThat(a.result()).contains("{\"n\":1}");
      assertThat(a.progressDone()).isEqualTo(5);
      assertThat(s.checkpoints("a", "")).isEmpty();
      assertThat(dir.resolve("inputs/a")).doesNotExist();
      assertThat(s.deleteFinished(t0)).isZero();
      assertThat(s.deleteFinished(t0.plusMillis(1))).isEqualTo(1);
      assertThat(s.find("a")).isEmpty();
    }
  }

  @Test
  void releasedAttemptsAreNotCounted() throws Exception {
    try (SqliteJobStore s = SqliteJobStore.open(dir, t0)) {
      add(s, "a", "x");
      JobStore.Claim c = s.claim(Set.of("t"), "me", t0, t0.plusSeconds(30)).orElseThrow();
      assertThat(c.job().attempts()).isEqualTo(1);
      s.finish(c.lease(), new Outcome.Released(), t0, 3, 10);
      Job a = s.find("a").orElseThrow();
      assertThat(a.state()).isEqualTo(JobState.QUEUED);
      assertThat(a.attempts()).isZero();
      assertThat(s.claim(Set.of("other"), "me", t0, t0).isEmpty()).isTrue(); // types filter
    }
  }

  @Test
  void nextRunAfterIncludesJobsAlreadyDue() throws Exception {
    // The dispatcher claims with one reading of the clock and asks when to look again with a later
    // one: a job that fell due in between must still make it look again (it once slept instead).
    try (SqliteJobStore s = SqliteJobStore.open(dir, t0)) {
      assertThat(s.nextRunAfter(Set.of("t"))).isEmpty();
      add(s, "a", "x");
      JobStore.Claim c = s.claim(Set.of("t"), "me", t0, t0.plusSeconds(30)).orElseThrow();
      assertThat(s.nextRunAfter(Set.of("t"))).isEmpty(); // running, not queued
      s.finish(c.lease(), new Outcome.Retry("boom", t0.plusSeconds(10)), t0, 0, -1);
      assertThat(s.nextRunAfter(Set.of("t"))).contains(t0.plusSeconds(10));
      assertThat(s.claim(Set.of("t"), "me", t0.plusSeconds(9), t0.plusSeconds(39))).isEmpty();
      // Due by now, and still reported.
      assertThat(s.nextRunAfter(Set.of("t"))).contains(t0.plusSeconds(10));
      assertThat(s.nextRunAfter(Set.of("other"))).isEmpty();
    }
  }
}
