package dev.lull.server.internal.admin;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Parses Prometheus text exposition with the official Prometheus client's parser (Python's {@code
 * prometheus_client}, Debian package {@code python3-prometheus-client}): Java has no maintained
 * parser, and a test that checked the text with its own parser would prove little. Without the
 * package the test is skipped locally and fails under CI ({@code CI} set).
 */
final class PromText {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * One sample.
   *
   * @param family the metric family ({@code lull_requests_seconds})
   * @param name the sample's name ({@code lull_requests_seconds_bucket})
   */
  record Sample(
      String family, String type, String name, Map<String, String> labels, double value) {}

  private PromText() {}

  static List<Sample> parse(String text, boolean openMetrics) throws Exception {
    String python = python().orElse(null);
    if (python == null) {
      String why = "no python3 with prometheus_client (apt-get install python3-prometheus-client)";
      if (System.getenv("CI") != null) throw new AssertionError(why);
      Assumptions.abort(why);
    }
    Path script = Files.createTempFile("prom_parse", ".py");
    try (InputStream in = PromText.class.getResourceAsStream("prom_parse.py")) {
      Files.write(script, in.readAllBytes());
      Process p =
          new ProcessBuilder(python, script.toString(), openMetrics ? "openmetrics" : "prometheus")
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      try {
        CompletableFuture<byte[]> out =
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    return p.getInputStream().readAllBytes();
                  } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                });
        try (OutputStream stdin = p.getOutputStream()) {
          stdin.write(text.getBytes(StandardCharsets.UTF_8));
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) throw new AssertionError("parser did not finish");
        String lines = new String(out.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
          throw new AssertionError(
              "the Prometheus parser rejected the text (exit " + p.exitValue() + ")");
        }
        List<Sample> samples = new ArrayList<>();
        for (String line : lines.split("\n")) {
          if (line.isBlank()) continue;
          JsonNode n = JSON.readTree(line);
          samples.add(
              new Sample(
                  n.get("family").asText(),
                  n.get("type").asText(),
                  n.get("name").asText(),
                  JSON.convertValue(n.get("labels"), new TypeReference<Map<String, String>>() {}),
                  Double.parseDouble(
                      n.get("value").asText().replace("inf", "Infinity").replace("nan", "NaN"))));
        }
        return samples;
      } finally {
        p.destroyForcibly();
      }
    } finally {
      Files.deleteIfExists(script);
    }
  }

  /** The first python3 that can import prometheus_client: PATH's, then Debian's. */
  static Optional<String> python() {
    for (String candidate : List.of("python3", "/usr/bin/python3")) {
      try {
        Process p =
            new ProcessBuilder(candidate, "-c", "import prometheus_client.parser")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        if (p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) return Optional.of(candidate);
        p.destroyForcibly();
      } catch (IOException e) {
        // not installed: try the next
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  /** The value of the one sample named {@code name} with exactly {@code labels}. */
  static double value(List<Sample> samples, String name, Map<String, String> labels) {
    List<Sample> found =
        samples.stream().filter(s -> s.name().equals(name) && s.labels().equals(labels)).toList();
    if (found.size() != 1) {
      throw new AssertionError(
          "expected one sample "
              + name
              + labels
              + ", found "
              + found.size()
              + ": "
              + samples.stream().filter(s -> s.name().equals(name)).toList());
    }
    return found.get(0).value();
  }
}
