package dev.lull.jobs.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two Lull instances (child JVMs) on one Redis and one shared input directory: a job accepted by
 * one is run; the instance running it is killed with SIGKILL midway; the other reclaims the job
 * once its lease expired and finishes it with the exact result.
 */
class TwoInstancesTest {
  @TempDir Path redisDir;
  @TempDir Path inputs;
  @TempDir Path logs;

  final List<Process> children = new ArrayList<>();
  RedisServer redis;
  final HttpClient client =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  @AfterEach
  void tearDown() throws Exception {
    for (Process p : children) {
      p.toHandle().destroyForcibly();
      p.onExit().get(20, TimeUnit.SECONDS);
    }
    client.close();
    if (redis != null) redis.close();
  }

  record Child(Process process, int port, Path log) {
    URI uri(String path) {
      return URI.create("http://127.0.0.1:" + port + path);
    }
  }

  Child startChild(String name) throws Exception {
    List<String> cmd =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Xmx128m",
            "-cp",
            System.getProperty("java.class.path"),
            RedisJobsChild.class.getName(),
            redis.uri(),
            "two",
            inputs.toString());
    Path log = logs.resolve(name + ".log");
    Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
    children.add(p);
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<Integer> ready = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                String line;
                while ((line = out.readLine()) != null) {
                  if (line.startsWith("PORT ")) ready.complete(Integer.parseInt(line.substring(5)));
                }
                ready.completeExceptionally(
                    new IOException("child ended: " + Files.readString(log)));
              } catch (IOException e) {
                ready.completeExceptionally(e);
              }
            });
    return new Child(p, ready.get(60, TimeUnit.SECONDS), log);
  }

  String get(Child c, String path) {
    try {
      return client
          .send(
              HttpRequest.newBuilder(c.uri(path)).timeout(Duration.ofSeconds(20)).build(),
              HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  static void until(Duration deadline, String what, BooleanSupplier condition) {
    long end = System.nanoTime() + deadline.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - end > 0)
        throw new AssertionError("not within " + deadline + ": " + what);
      LockSupport.parkNanos(20_000_000);
    }
  }

  static String str(String json, String field) {
    Matcher m = Pattern.compile("\"" + field + "\":\"([^\"]*)\"").matcher(json);
    return m.find() ? m.group(1) : null;
  }

  static long num(String json, String field) {
    Matcher m = Pattern.compile("\"" + field + "\":(-?\\d+)").matcher(json);
    return m.find() ? Long.parseLong(m.group(1)) : Long.MIN_VALUE;
  }

  @Test
  void whenTheInstanceRunningAJobIsKilledTheOtherFinishesItExactly() throws Exception {
    redis = RedisServer.start(redisDir);
    Child a = startChild("a");
    Child b = startChild("b");

    // 60 chunks of about 4 KiB, 200 ms of work each: about 12 s of work, so that the kill lands
    // mid-job even on a loaded machine.
    StringBuilder csv = new StringBuilder();
    long rows = 0;
    long sum = 0;
    CRC32 crc = new CRC32();
    for (int i = 0; i < 6000; i++) {
      String line = "row-" + i + ",value-" + (i * 7919L % 10007) + ",some text";
      byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
      crc.reset();
      crc.update(bytes);
      rows++;
      sum += crc.getValue();
      csv.append(line).append('\n');
    }
    HttpResponse<String> accepted =
        client.send(
            HttpRequest.newBuilder(a.uri("/jobs/lines?chunk=4096&delayMs=200"))
                .POST(HttpRequest.BodyPublishers.ofString(csv.toString()))
                .header("Content-Type", "text/csv")
                .timeout(Duration.ofSeconds(30))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    String id = str(accepted.body(), "id");
    assertThat(inputs.resolve(id)).exists(); // in the shared directory, before the 202

    // Both instances see the job; wait until some chunks are committed, then kill its owner.
    RedisClient rc = RedisClient.create(redis.uri());
    try (StatefulRedisConnection<String, String> c = rc.connect()) {
      var r = c.sync();
      until(
          Duration.ofSeconds(30),
          "a fifth of job " + id + " committed",
          () -> r.hlen("two:cp:" + id) >= 12);
      assertThat(str(get(b, "/jobs/" + id), "state")).isEqualTo("RUNNING");
      String owner = r.hget("two:job:" + id, "owner");
      Child victim = owner.contains("/" + a.process().pid() + "/") ? a : b;
      Child survivor = victim == a ? b : a;
      assertThat(owner).contains("/" + victim.process().pid() + "/");
      victim.process().toHandle().destroyForcibly(); // SIGKILL
      assertThat(victim.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
      assertThat(victim.process().exitValue()).isEqualTo(137);

      String[] last = {null};
      until(
          Duration.ofSeconds(60),
          "job " + id + " finished by the other instance",
          () -> {
            last[0] = get(survivor, "/jobs/" + id);
            String s = str(last[0], "state");
            return "SUCCEEDED".equals(s) || "FAILED".equals(s) || "CANCELLED".equals(s);
          });
      String done = last[0];
      assertThat(str(done, "state")).as(done).isEqualTo("SUCCEEDED");
      assertThat(num(done, "attempts")).as(done).isEqualTo(2); // the killed attempt counts
      assertThat(num(done, "rows")).isEqualTo(rows);
      assertThat(str(done, "checksum")).isEqualTo(Long.toHexString(sum));
      assertThat(num(done, "chunksResumed")).as(done).isGreaterThanOrEqualTo(12);
      assertThat(Files.readString(survivor.log())).contains("reclaimed 1 job(s)");
      assertThat(inputs.resolve(id)).doesNotExist(); // final: input deleted
      assertThat(r.hlen("two:cp:" + id)).isZero();
    } finally {
      rc.shutdown();
    }
  }

  @Test
  void jobsAcceptedByABusyInstanceAreRunByTheOther() throws Exception {
    redis = RedisServer.start(redisDir);
    Child a = startChild("a");
    Child b = startChild("b");
    String body = "x\ny\nz\n".repeat(100);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      // Each about 1 s of work; A has one worker, so the second waits for B.
      HttpResponse<String> r =
          client.send(
              HttpRequest.newBuilder(a.uri("/jobs/lines?chunk=64&delayMs=100"))
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .timeout(Duration.ofSeconds(30))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
      ids.add(str(r.body(), "id"));
    }
    for (String id : ids) {
      until(
          Duration.ofSeconds(60),
          "job " + id + " succeeded",
          () -> "SUCCEEDED".equals(str(get(b, "/jobs/" + id), "state")));
      assertThat(num(get(a, "/jobs/" + id), "rows")).isEqualTo(300);
    }
    String logA = Files.readString(a.log());
    String logB = Files.readString(b.log());
    assertThat(ids).allMatch(id -> logA.contains("job " + id) ^ logB.contains("job " + id));
    assertThat(ids).anyMatch(id -> logB.contains("job " + id + " (lines): succeeded"));
  }
}
