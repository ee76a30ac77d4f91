package dev.lull.jobs;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Jobs in real child JVMs: SIGKILL in the middle of a job, and a 200 MB upload in a 64 MB heap. */
class ChildProcessTest {
  @TempDir Path dir;
  @TempDir Path logs;

  final List<Process> children = new ArrayList<>();
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
  }

  /** A started child: its process and port. */
  record Child(Process process, int port, long maxHeap, Path log) {
    URI uri(String path) {
      return URI.create("http://127.0.0.1:" + port + path);
    }
  }

  Child startChild(String name, String... jvmFlags) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(List.of(jvmFlags));
    cmd.addAll(
        List.of(
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "--enable-native-access=ALL-UNNAMED",
            "-cp",
            System.getProperty("java.class.path"),
            JobsChild.class.getName(),
            dir.toString()));
    Path log = logs.resolve(name + ".log");
    Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
    children.add(p);
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<long[]> ready = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              long port = -1;
              try {
                String line;
                while ((line = out.readLine()) != null) {
                  if (line.startsWith("PORT ")) port = Long.parseLong(line.substring(5));
                  if (line.startsWith("MAXHEAP ")) {
                    ready.complete(new long[] {port, Long.parseLong(line.substring(8))});
                  }
                }
                ready.completeExceptionally(
                    new IOException("child ended: " + Files.readString(log)));
              } catch (IOException e) {
                ready.completeExceptionally(e);
              }
            });
    long[] r = ready.get(60, TimeUnit.SECONDS);
    return new Child(p, (int) r[0], r[1], log);
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

  HttpResponse<String> upload(Child c, String path, CsvGenerator csv) throws Exception {
    HttpRequest.BodyPublisher body =
        HttpRequest.BodyPublishers.fromPublisher(
            HttpRequest.BodyPublishers.ofInputStream(() -> csv), csv.size());
    return client.send(
        HttpRequest.newBuilder(c.uri(path))
            .POST(body)
            .header("Content-Type", "text/csv")
            .timeout(Duration.ofMinutes(3))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Polls the job until it is final; returns its JSON. */
  String awaitFinal(Child c, String id, Duration deadline) {
    String[] last = {null};
    Awaits.until(
        deadline,
        "job " + id + " final",
        () -> {
          last[0] = get(c, "/jobs/" + id);
          String s = JsonText.str(last[0], "state");
          return "SUCCEEDED".equals(s) || "FAILED".equals(s) || "CANCELLED".equals(s);
        });
    return last[0];
  }

  @Test
  void aJobKilledWithSigkillMidwayIsResumedByTheNextProcessWithAnExactResult() throws Exception {
    Child first = startChild("first");
    CsvGenerator csv = new CsvGenerator(200_000); // 6.4 MB, 98 chunks of 64 KiB
    HttpResponse<String> accepted =
        upload(first, "/jobs/csv?chunk=65536&workers=2&delayMs=40", csv);
    assertThat(accepted.statusCode()).isEqualTo(202);
    String id = JsonText.str(accepted.body(), "id");

    // Wait until a quarter is done (committed chunks), then SIGKILL.
    Awaits.until(
        Duration.ofSeconds(60),
        "a quarter of job " + id + " done",
        () -> JsonText.num(get(first, "/jobs/" + id), "done") >= csv.size() / 4);
    String before = get(first, "/jobs/" + id);
    assertThat(JsonText.str(before, "state")).isEqualTo("RUNNING");
    first.process().toHandle().destroyForcibly(); // SIGKILL
    assertThat(first.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(first.process().exitValue()).isEqualTo(137); // 128 + SIGKILL

    Child second = startChild("second");
    String done = awaitFinal(second, id, Duration.ofSeconds(90));
    assertThat(JsonText.str(done, "state")).as(done).isEqualTo("SUCCEEDED");
    assertThat(JsonText.num(done, "attempts")).isEqualTo(2); // the killed attempt counts
    assertThat(JsonText.num(done, "rows")).isEqualTo(200_000);
    assertThat(JsonText.str(done, "checksum")).isEqualTo(Long.toHexString(csv.checksum));
    assertThat(JsonText.num(done, "chunksResumed")).isPositive(); // resumed, not restarted
    assertThat(JsonText.num(done, "chunks")).isEqualTo(98);
    assertThat(Files.readString(second.log())).contains("left running by a previous process");
  }

  @Test
  void a200MegabyteUploadIsAcceptedAndProcessedWithA64MegabyteHeap() throws Exception {
    Child child = startChild("big", "-Xmx64m");
    assertThat(child.maxHeap()).isLessThanOrEqualTo(64L << 20);
    CsvGenerator csv = new CsvGenerator((200L << 20) / CsvGenerator.ROW);
    HttpResponse<String> accepted = upload(child, "/jobs/csv?chunk=1048576&workers=2", csv);
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    assertThat(JsonText.num(accepted.body(), "inputBytes")).isEqualTo(200L << 20);
    String id = JsonText.str(accepted.body(), "id");

    String done = awaitFinal(child, id, Duration.ofMinutes(3));
    assertThat(JsonText.str(done, "state")).as(done).isEqualTo("SUCCEEDED");
    assertThat(JsonText.num(done, "rows")).isEqualTo(csv.rowsRead);
    assertThat(JsonText.str(done, "checksum")).isEqualTo(Long.toHexString(csv.checksum));
    assertThat(child.process().isAlive()).isTrue();
    assertThat(Files.readString(child.log())).doesNotContain("OutOfMemoryError");
  }
}
