package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RouterTest {
  private static TestServer server;

  @BeforeAll
  static void start() {
    Router router =
        Router.builder()
            .get("/", (req, res) -> res.send("root"))
            .get(
                "/jobs/{id}",
                (req, res) -> res.send("job " + req.pathParameter("id").orElseThrow()))
            .get("/jobs/new", (req, res) -> res.send("new job form"))
            .post("/jobs", (req, res) -> res.status(201).send("created"))
            .get("/jobs", (req, res) -> res.send("all jobs"))
            .get(
                "/files/{path...}",
                (req, res) -> res.send("file " + req.pathParameter("path").orElseThrow()))
            .route(
                "GET /users/{user}/posts/{post}",
                (req, res) ->
                    res.send(
                        req.pathParameter("user").orElseThrow()
                            + "/"
                            + req.pathParameter("post").orElseThrow()))
            .build();
    server = TestServer.start(router);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static HttpResponse<String> send(String method, String path) throws Exception {
    return server.send(
        HttpRequest.newBuilder(server.uri(path))
            .method(method, HttpRequest.BodyPublishers.noBody())
            .build());
  }

  @Test
  void unknownPathGets404() throws Exception {
    HttpResponse<String> r = send("GET", "/nope");
    assertThat(r.statusCode()).isEqualTo(404);
  }

  @Test
  void knownPathWithOtherMethodGets405WithAllow() throws Exception {
    HttpResponse<String> r = send("DELETE", "/jobs");
    assertThat(r.statusCode()).isEqualTo(405);
    assertThat(r.headers().firstValue("allow")).hasValue("GET, HEAD, POST");
  }

  @Test
  void pathParametersAreBound() throws Exception {
    assertThat(send("GET", "/jobs/42").body()).isEqualTo("job 42");
    assertThat(send("GET", "/users/ann/posts/7").body()).isEqualTo("ann/7");
  }

  @Test
  void aParameterDoesNotMatchAnEmptySegment() throws Exception {
    assertThat(send("GET", "/jobs/").statusCode()).isEqualTo(404);
  }

  @Test
  void literalSegmentsWinOverParameters() throws Exception {
    assertThat(send("GET", "/jobs/new").body()).isEqualTo("new job form");
  }

  @Test
  void restParameterTakesTheRestOfThePath() throws Exception {
    assertThat(send("GET", "/files/a/b/c.txt").body()).isEqualTo("file a/b/c.txt");
    assertThat(send("GET", "/files/x").body()).isEqualTo("file x");
  }

  @Test
  void headIsServedByTheGetRoute() throws Exception {
    HttpResponse<String> r = send("HEAD", "/jobs/42");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-length")).hasValue("6");
    assertThat(r.body()).isEmpty();
  }

  @Test
  void rootAndExactPaths() throws Exception {
    assertThat(send("GET", "/").body()).isEqualTo("root");
    assertThat(send("GET", "/jobs").body()).isEqualTo("all jobs");
    assertThat(send("POST", "/jobs").statusCode()).isEqualTo(201);
  }

  @Test
  void malformedPatternsAreRejected() {
    Handler h = (req, res) -> {};
    assertThatThrownBy(() -> Router.builder().get("jobs", h))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("jobs");
    assertThatThrownBy(() -> Router.builder().get("/a/{x...}/b", h))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("/a/{x...}/b");
    assertThatThrownBy(() -> Router.builder().get("/a/b{x}", h))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Router.builder().get("/a/{}", h))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Router.builder().route("/no-method", h))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Router.builder().get("/a/{x}", h).get("/a/{y}", h))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("duplicate");
  }
}
