package dev.lull.server;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Run by {@link SchedulingTest} in a JVM of its own: serves one request, prints where it ran. */
public final class SchedulingProbe {
  public static void main(String[] args) throws Exception {
    StringBuilder carrier = new StringBuilder();
    try (Server server =
        Server.builder()
            .listen("127.0.0.1:0")
            .handler(
                (req, res) -> {
                  carrier.append(SchedulingTest.carrier());
                  res.send("ok");
                })
            .build()
            .start()) {
      URI uri = URI.create("http://127.0.0.1:" + server.listeners().get(0).port() + "/");
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
      System.out.println("status " + r.statusCode());
      System.out.println("carrier " + carrier);
    }
  }
}
