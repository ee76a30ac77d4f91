package dev.lull.server.internal.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lull.core.Phase;
import dev.lull.core.Termination;
import dev.lull.core.Work;
import dev.lull.core.testing.ManualClock;
import dev.lull.server.Awaits;
import dev.lull.server.Conn;
import dev.lull.server.RawHttp;
import dev.lull.server.Router;
import dev.lull.server.Server;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The admin plane of a real {@link Server}: its own listener, real traffic on the public one, a
 * real graceful stop.
 */
class AdminServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final CountDownLatch release = new CountDownLatch(1);
  private final CountDownLatch slowStarted = new CountDownLatch(1);
  private final HttpClient client =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final List<Conn> conns = new ArrayList<>();
  private Server server;

  private final Router routes =
      Router.builder()
          .get("/", (req, res) -> res.send("hello\n"))
          .get("/jobs/{id}", (req, res) -> res.send("job\n"))
          .post("/jobs", (req, res) -> res.status(201).send("created\n"))
          .get(
              "/slow",
              (req, res) -> {
                slowStarted.countDown();
                release.await();
                res.send("slow\n");
              })
          .build();

  private Server start(UnaryOperator<Server.Builder> options) {
    server =
        options
            .apply(
                Server.builder()
                    .listen("http=127.0.0.1:0")
                    .admin("127.0.0.1:0")
                    .handler(routes)
                    .ioThreads(1))
            .build()
            .start();
    return server;
  }

  @AfterEach
  void tearDown() throws IOException {
    release.countDown();
    for (Conn c : conns) c.close();
    client.close();
    if (server != null) server.close();
  }

  @Test
  void readinessFailsAtOnceWhileTheDrainDelayStillServesNewConnections() throws Exception {
    ManualClock clock = new ManualClock();
    start(b -> b.clock(clock, clock).drainDelay(Duration.ofSeconds(10)));
    assertThat(get(admin("/readyz")).statusCode()).isEqualTo(200);

    Conn slow = conn(publicPort()).send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    assertThat(slowStarted.await(10, TimeUnit.SECONDS)).isTrue();
    JsonNode status = JSON.readTree(get(admin("/status.json")).body());
    assertThat(status.get("inFlight").get(0).get("path").asText()).isEqualTo("/slow");
    assertThat(status.get("connections").get("active").asLong()).isEqualTo(1);

    server.stop();
    HttpResponse<String> notReady = get(admin("/readyz"));
    assertThat(notReady.statusCode()).isEqualTo(503);
    assertThat(JSON.readTree(notReady.body()).get("phase").asText()).isEqualTo("draining");

    // During the drain delay a new connection is still accepted and served as usual.
    RawHttp.Response during = conn(publicPort()).send("GET / HTTP/1.1\r\nHost: x\r\n\r\n").read();
    assertThat(during.status()).isEqualTo(200);
    assertThat(during.bodyText()).isEqualTo("hello\n");
    assertThat(get(admin("/livez")).statusCode()).isEqualTo(200);

    // After it the public listener closes; the admin listener stays, still not ready.
    clock.advance(Duration.ofSeconds(10));
    Awaits.until(Duration.ofSeconds(10), "public listener closed", () -> refused(publicPort()));
    assertThat(get(admin("/readyz")).statusCode()).isEqualTo(503);

    // The request in flight still finishes, told to close its connection.
    release.countDown();
    RawHttp.Response last = slow.read();
    assertThat(last.status()).isEqualTo(200);
    assertThat(last.header("connection")).hasValue("close");
    Termination t = server.awaitTermination(Duration.ofSeconds(20)).orElseThrow();
    assertThat(t.graceful()).isTrue();
    assertThat(server.lifecycle().phase()).isEqualTo(Phase.TERMINATED);
    // Released last: the admin listener is gone only now.
    assertThat(refused(server.adminListeners().get(0).port())).isTrue();
  }

  @Test
  void metricsCountTheRealTrafficByRouteAndStatus() throws Exception {
    start(b -> b);
    for (int i = 1; i <= 3; i++) {
      assertThat(get(pub("/jobs/" + i)).statusCode()).isEqualTo(200);
    }
    HttpResponse<String> created =
        client.send(
            HttpRequest.newBuilder(pub("/jobs"))
                .POST(HttpRequest.BodyPublishers.ofString("x"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(created.statusCode()).isEqualTo(201);
    assertThat(get(pub("/nope")).statusCode()).isEqualTo(404);
    assertThat(get(pub("/nope/2")).statusCode()).isEqualTo(404);
    HttpResponse<String> delete =
        client.send(
            HttpRequest.newBuilder(pub("/jobs")).DELETE().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(delete.statusCode()).isEqualTo(405);
    // A request head the server rejects never reaches a handler: unmatched, 400.
    assertThat(conn(publicPort()).send("GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n").read().status())
        .isEqualTo(400);

    // A client that leaves mid-request: cancelled, client_disconnected.
    Conn leaving = conn(publicPort()).send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    assertThat(slowStarted.await(10, TimeUnit.SECONDS)).isTrue();
    leaving.close();
    Awaits.until(
        Duration.ofSeconds(10),
        "the disconnect is counted",
        () ->
            server
                    .meterRegistry()
                    .get("lull.requests.cancelled")
                    .tag("cause", "client_disconnected")
                    .counter()
                    .count()
                == 1);

    HttpResponse<String> scrape = get(admin("/metrics"));
    assertThat(scrape.statusCode()).isEqualTo(200);
    List<PromText.Sample> s = PromText.parse(scrape.body(), false);
    assertThat(count(s, "GET", "/jobs/{id}", "200")).isEqualTo(3);
    assertThat(count(s, "POST", "/jobs", "201")).isEqualTo(1);
    assertThat(count(s, "GET", "unmatched", "404")).isEqualTo(2);
    assertThat(count(s, "DELETE", "unmatched", "405")).isEqualTo(1);
    assertThat(count(s, "GET", "unmatched", "400")).isEqualTo(1);
    assertThat(
            PromText.value(
                s, "lull_requests_cancelled_total", Map.of("cause", "client_disconnected")))
        .isEqualTo(1);
    // Scrapes of the admin listener are not requests of the server, nor connections of it.
    assertThat(s).noneMatch(x -> "/metrics".equals(x.labels().get("route")));
    double accepted = PromText.value(s, "lull_connections_accepted_total", Map.of());
    assertThat(accepted).isEqualTo(server.activity().counts().accepted()).isGreaterThanOrEqualTo(3);
    try (HttpClient fresh = HttpClient.newHttpClient()) {
      HttpResponse<String> again =
          fresh.send(
              HttpRequest.newBuilder(admin("/metrics")).build(),
              HttpResponse.BodyHandlers.ofString());
      List<PromText.Sample> s2 = PromText.parse(again.body(), false);
      assertThat(PromText.value(s2, "lull_connections_accepted_total", Map.of()))
          .isEqualTo(accepted);
    }
  }

  @Test
  void statusPageInChromiumShowsTheConnectionsTheTestHolds() throws Exception {
    start(b -> b.idleTimeout(Duration.ofMinutes(5)));
    // One request in flight, two idle keep-alive connections.
    conn(publicPort()).send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    assertThat(slowStarted.await(10, TimeUnit.SECONDS)).isTrue();
    for (int i = 0; i < 2; i++) {
      assertThat(conn(publicPort()).send("GET / HTTP/1.1\r\nHost: x\r\n\r\n").read().status())
          .isEqualTo(200);
    }
    try (Work job = server.activity().begin("job", "import orders.csv");
        Chromium browser = Chromium.launch(1000, 900)) {
      browser.navigate(admin("/status"));
      awaitText(browser, "conn-open", "3");
      assertThat(text(browser, "conn-active")).isEqualTo("1");
      assertThat(text(browser, "conn-idle")).isEqualTo("2");
      assertThat(text(browser, "phase")).isEqualTo("running");
      assertThat(browser.evaluate("document.querySelector('#in-flight code').textContent"))
          .isEqualTo("/slow");

      // Two more connections, and no reload: the page fetches itself and shows them.
      for (int i = 0; i < 2; i++) {
        assertThat(conn(publicPort()).send("GET / HTTP/1.1\r\nHost: x\r\n\r\n").read().status())
            .isEqualTo(200);
      }
      awaitText(browser, "conn-open", "5");
      assertThat(text(browser, "conn-idle")).isEqualTo("4");

      byte[] png = browser.screenshot();
      assertThat(png).startsWith(0x89, 'P', 'N', 'G');
      Path out = Path.of("target", "status.png");
      Files.createDirectories(out.getParent());
      Files.write(out, png);
      // -Dlull.statusScreenshot=$PWD/../docs/status.png refreshes the picture in the docs.
      String docs = System.getProperty("lull.statusScreenshot");
      if (docs != null) Files.write(Path.of(docs), png);
    }
  }

  @Test
  void adminListenerOnAPublicAddressIsRefusedUnlessAllowed() {
    assertThatThrownBy(
            () -> Server.builder().listen("127.0.0.1:0").admin("0.0.0.0:0").handler(routes).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not on a loopback address");
    start(b -> b.admin("0.0.0.0:0").adminPublic(true));
    assertThat(server.adminListeners()).hasSize(1);
  }

  private static double count(List<PromText.Sample> s, String method, String route, String status) {
    return PromText.value(
        s,
        "lull_requests_seconds_count",
        Map.of("method", method, "route", route, "status", status));
  }

  private static String text(Chromium browser, String id) throws Exception {
    return browser.evaluate("document.getElementById('" + id + "').textContent");
  }

  private static void awaitText(Chromium browser, String id, String expected) {
    Awaits.until(
        Duration.ofSeconds(30),
        "#" + id + " shows " + expected,
        () -> {
          try {
            return expected.equals(
                browser.evaluate("(document.getElementById('" + id + "') || {}).textContent"));
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        });
  }

  private int publicPort() {
    return server.listeners().get(0).port();
  }

  private URI pub(String path) {
    return URI.create("http://127.0.0.1:" + publicPort() + path);
  }

  private URI admin(String path) {
    return URI.create("http://127.0.0.1:" + server.adminListeners().get(0).port() + path);
  }

  private HttpResponse<String> get(URI uri) throws Exception {
    return client.send(
        HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private Conn conn(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    Conn c = new Conn(s);
    conns.add(c);
    return c;
  }

  private static boolean refused(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
      return false;
    } catch (ConnectException e) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
