package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code lull train}, the workload of the launcher's AOT cache (docs/STARTUP.md): it starts the
 * demo, serves its requests without error, stops it with a real SIGTERM and exits 0. (The cache
 * itself needs a jar, not the class directories of a test: LauncherAotTest makes one.)
 */
class TrainCommandTest {
  @Test
  void trainServesRequestsStopsOnItsOwnSigtermAndExitsZero() throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(
        List.of(
            "-XX:+UseSerialGC",
            "-Dio.netty.jfr.enabled=false",
            "--enable-native-access=ALL-UNNAMED",
            "--add-opens",
            "java.base/java.lang=ALL-UNNAMED"));
    cmd.addAll(
        List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "train"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("train exits").isTrue();
      assertThat(p.exitValue()).as(out).isZero();
      assertThat(out)
          .contains("listening: ")
          .contains("SIGTERM: stopping gracefully")
          .contains("STOPPING -> TERMINATED (signal)")
          .doesNotContain("lull train: ");
    } finally {
      p.destroyForcibly().waitFor();
    }
  }
}
