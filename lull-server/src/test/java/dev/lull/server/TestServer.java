package dev.lull.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.UnaryOperator;

/** A server on 127.0.0.1 port 0 for one test, with a raw-socket and a java.net.http client. */
final class TestServer implements AutoCloseable {
  final Server server;
  private HttpClient client;

  private TestServer(Server server) {
    this.server = server;
  }

  static TestServer start(Handler handler) {
    return start(handler, b -> b);
  }

  static TestServer start(Handler handler, UnaryOperator<Server.Builder> options) {
    return start(handler, options, s -> {});
  }

  /** As {@link #start(Handler, UnaryOperator)}, running {@code beforeStart} on the built server. */
  static TestServer start(
      Handler handler,
      UnaryOperator<Server.Builder> options,
      java.util.function.Consumer<Server> beforeStart) {
    Server.Builder b = Server.builder().listen("127.0.0.1:0").handler(handler).ioThreads(2);
    Server server = options.apply(b).build();
    beforeStart.accept(server);
    return new TestServer(server.start());
  }

  int port() {
    return server.listeners().get(0).port();
  }

  URI uri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
  }

  /** A new raw connection with a 10 s read timeout. */
  Conn connect() {
    try {
      Socket s = new Socket();
      s.connect(new InetSocketAddress("127.0.0.1", port()), 5_000);
      return new Conn(s);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Sends a GET with java.net.http and returns the response as text. */
  HttpResponse<String> get(String pathAndQuery) throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(10)).build());
  }

  HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
    if (client == null) {
      client =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(Duration.ofSeconds(5))
              .build();
    }
    return client.send(request, HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public void close() {
    try {
      if (client != null) client.close();
    } finally {
      server.close();
    }
  }
}
