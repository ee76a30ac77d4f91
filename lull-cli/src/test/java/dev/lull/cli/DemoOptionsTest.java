package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad {@code lull demo} options: one line naming the option and its value, exit code 2. */
class DemoOptionsTest {
  @TempDir Path dir;

  private record Run(int code, String err) {}

  private Run demo(String... options) {
    PrintStream old = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      String[] args = new String[options.length + 5];
      args[0] = "demo";
      args[1] = "--listen";
      args[2] = "127.0.0.1:0";
      args[3] = "--jobs-dir";
      args[4] = dir.resolve("jobs").toString();
      System.arraycopy(options, 0, args, 5, options.length);
      int code = Main.run(args);
      return new Run(code, err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(old);
    }
  }

  @Test
  void aNegativeConnectionLimitIsRefusedBeforeServing() {
    Run r = demo("--max-connections", "-1");
    assertThat(r.code()).isEqualTo(Main.EXIT_USAGE);
    assertThat(r.err().lines().filter(l -> l.startsWith("lull: ")))
        .containsExactly("lull: --max-connections: 0 (none) or more, not -1");
  }
}
