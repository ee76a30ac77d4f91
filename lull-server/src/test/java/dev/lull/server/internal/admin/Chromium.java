package dev.lull.server.internal.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Headless Chromium (Debian's {@code chromium} package) driven through the Chrome DevTools Protocol
 * over the JDK's own WebSocket client: navigate, evaluate JavaScript, take a screenshot. One
 * browser process per instance, with a fresh profile; {@link #close()} ends that process (by its
 * PID) and deletes the profile. Without a Chromium the test is skipped locally and fails under CI
 * ({@code CI} set).
 */
final class Chromium implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final Process process;
  private final Path profile;
  private final HttpClient http = HttpClient.newHttpClient();
  private final WebSocket socket;
  private final AtomicInteger ids = new AtomicInteger();
  private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();

  private Chromium(Process process, Path profile, URI devtools) throws Exception {
    this.process = process;
    this.profile = profile;
    HttpResponse<String> list =
        http.send(
            HttpRequest.newBuilder(devtools.resolve("/json/list")).timeout(TIMEOUT).build(),
            HttpResponse.BodyHandlers.ofString());
    String pageUrl = null;
    for (JsonNode target : JSON.readTree(list.body())) {
      if (target.get("type").asText().equals("page")) {
        pageUrl = target.get("webSocketDebuggerUrl").asText();
        break;
      }
    }
    if (pageUrl == null) throw new IllegalStateException("no page target: " + list.body());
    this.socket =
        http.newWebSocketBuilder()
            .connectTimeout(TIMEOUT)
            .buildAsync(URI.create(pageUrl), new Listener())
            .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
  }

  /** The Chromium executable on PATH, if any. */
  static Optional<String> find() {
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
      for (String dir : path.split(":")) {
        Path p = Path.of(dir, name);
        if (Files.isExecutable(p)) return Optional.of(p.toString());
      }
    }
    return Optional.empty();
  }

  /** Starts a headless Chromium with a {@code width} x {@code height} window on a blank page. */
  static Chromium launch(int width, int height) throws Exception {
    String exe = find().orElse(null);
    if (exe == null) {
      String why = "no chromium on PATH (apt-get install chromium)";
      if (System.getenv("CI") != null) throw new AssertionError(why);
      Assumptions.abort(why);
    }
    Path profile = Files.createTempDirectory("lull-chromium");
    Process p =
        new ProcessBuilder(
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--user-data-dir=" + profile,
                "--window-size=" + width + "," + height,
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    try {
      return new Chromium(p, profile, devtoolsAddress(p));
    } catch (Exception | Error e) {
      kill(p);
      deleteTree(profile);
      throw e;
    }
  }

  /** Reads stderr until Chromium says where DevTools listens; keeps draining it afterwards. */
  private static URI devtoolsAddress(Process p) throws Exception {
    CompletableFuture<URI> found = new CompletableFuture<>();
    Thread.ofPlatform()
        .daemon()
        .name("chromium-stderr")
        .start(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                String line;
                String prefix = "DevTools listening on ";
                while ((line = r.readLine()) != null) {
                  int i = line.indexOf(prefix);
                  if (i >= 0) {
                    URI ws = URI.create(line.substring(i + prefix.length()).trim());
                    found.complete(URI.create("http://" + ws.getHost() + ":" + ws.getPort()));
                  }
                }
                found.completeExceptionally(new IOException("chromium exited: " + p.exitValue()));
              } catch (Exception e) {
                found.completeExceptionally(e);
              }
            });
    return found.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
  }

  /** Sends one DevTools command and waits for its result. */
  JsonNode call(String method, Map<String, Object> params) throws Exception {
    int id = ids.incrementAndGet();
    CompletableFuture<JsonNode> result = new CompletableFuture<>();
    pending.put(id, result);
    ObjectNode msg = JSON.createObjectNode().put("id", id).put("method", method);
    msg.set("params", JSON.valueToTree(params));
    socket.sendText(JSON.writeValueAsString(msg), true).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    JsonNode response = result.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    if (response.has("error")) {
      throw new IllegalStateException(method + " failed: " + response.get("error"));
    }
    return response.get("result");
  }

  void navigate(URI uri) throws Exception {
    call("Page.navigate", Map.of("url", uri.toString()));
  }

  /** Evaluates {@code expression} in the page and returns its value as text ("" for null). */
  String evaluate(String expression) throws Exception {
    JsonNode r = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true));
    JsonNode value = r.get("result").get("value");
    return value == null || value.isNull() ? "" : value.asText();
  }

  /** A PNG of the page as the window shows it. */
  byte[] screenshot() throws Exception {
    JsonNode r = call("Page.captureScreenshot", Map.of("format", "png"));
    return Base64.getDecoder().decode(r.get("data").asText());
  }

  @Override
  public void close() throws IOException {
    try {
      socket.abort();
    } finally {
      kill(process);
      deleteTree(profile);
    }
  }

  /** Ends the browser we started, and its children, by PID. */
  private static void kill(Process p) {
    List<ProcessHandle> children = p.descendants().toList();
    p.destroy();
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
    }
    for (ProcessHandle c : children) {
      if (c.isAlive()) c.destroyForcibly();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    }
  }

  private final class Listener implements WebSocket.Listener {
    private final StringBuilder text = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        try {
          JsonNode msg = JSON.readTree(text.toString());
          if (msg.has("id")) {
            CompletableFuture<JsonNode> f = pending.remove(msg.get("id").asInt());
            if (f != null) f.complete(msg);
          }
        } catch (IOException e) {
          pending.values().forEach(f -> f.completeExceptionally(e));
        }
        text.setLength(0);
      }
      ws.request(1);
      return null;
    }
  }
}
