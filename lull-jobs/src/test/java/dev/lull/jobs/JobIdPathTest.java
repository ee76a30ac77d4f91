package dev.lull.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.jobs.spi.InputFiles;
import dev.lull.server.Router;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Request data never becomes a file path (issue #8, item 5): job ids in URLs only look jobs up, and
 * an id that reaches the input files is checked to be one file name.
 */
class JobIdPathTest {
  @TempDir Path dir;

  @Test
  void traversalInAJobIdIsAnUnknownJobAndTouchesNoFile() throws Exception {
    Files.writeString(dir.resolve("outside"), "keep");
    Path data = dir.resolve("data");
    try (Jobs jobs =
        Jobs.builder().dataDirectory(data).handler("echo", job -> Map.of()).build().start()) {
      Router.Builder router = Router.builder();
      jobs.routes().forEach(router::route);
      try (Http http = new Http(router.build())) {
        for (String id :
            new String[] {
              "..%2F..%2Foutside",
              "..%2Fjobs.db",
              "%2e%2e%2Fjobs.db",
              "inputs%2F..%2F..%2Foutside",
              "..",
              "%00",
              "a%2Fb"
            }) {
          assertThat(http.get("/jobs/" + id).statusCode()).as("GET " + id).isEqualTo(404);
          assertThat(http.delete("/jobs/" + id).statusCode()).as("DELETE " + id).isEqualTo(404);
        }
      }
      assertThat(Files.readString(dir.resolve("outside"))).isEqualTo("keep");
      assertThat(data.resolve("jobs.db")).exists();
    }
  }

  @Test
  void anInputFileNameIsOneNameInTheInputDirectory() {
    for (String bad : new String[] {"../x", "a/b", "..", ".", "", "x\0y", "a\\b", "x".repeat(65)}) {
      assertThatThrownBy(() -> InputFiles.path(dir, bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> InputFiles.create(dir, bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(InputFiles.path(dir, "01hx-ABC")).isEqualTo(dir.resolve("01hx-ABC"));
  }
}
