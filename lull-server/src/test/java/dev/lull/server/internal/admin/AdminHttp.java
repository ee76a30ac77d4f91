package dev.lull.server.internal.admin;

import dev.lull.server.Handler;
import dev.lull.server.Server;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Serves a handler on 127.0.0.1 port 0, as the admin listener would, with a client for it. */
final class AdminHttp implements AutoCloseable {
  final Server server;
  private final HttpClient client =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  AdminHttp(Handler handler) {
    this.server =
        Server.builder().listen("127.0.0.1:0").handler(handler).ioThreads(1).build().start();
  }

  int port() {
    return server.listeners().get(0).port();
  }

  URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port() + path);
  }

  HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return get(path, null);
  }

  HttpResponse<String> get(String path, String accept) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10));
    if (accept != null) b.header("Accept", accept);
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public void close() {
    try {
      client.close();
    } finally {
      server.close();
    }
  }
}
