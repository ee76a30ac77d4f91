package dev.lull.server.internal;

import dev.lull.server.Conn;
import dev.lull.server.Handler;
import dev.lull.server.ListenerSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * An engine built directly (not through Server) so that tests in this package can read the
 * connection's internals, always on its event loop.
 */
final class TestEngine implements AutoCloseable {
  final Engine engine;

  private TestEngine(Engine engine) {
    this.engine = engine;
  }

  static TestEngine start(Handler handler, long maxBodySize) {
    Engine e =
        new Engine(
            new Settings(
                List.of(ListenerSpec.parse("127.0.0.1:0")),
                handler,
                8192,
                16384,
                maxBodySize,
                Duration.ofSeconds(10),
                Duration.ofSeconds(30),
                Duration.ofSeconds(60),
                2,
                8192,
                Duration.ZERO,
                true,
                Duration.ofMillis(500),
                dev.lull.core.Context.background(),
                dev.lull.server.Scheduling.EVENT_LOOP,
                0),
            dev.lull.core.ActivityTracker.builder().build());
    e.start();
    return new TestEngine(e);
  }

  int port() {
    return engine.listeners().get(0).port();
  }

  /** A raw client; {@code receiveBuffer} > 0 fixes the socket's receive buffer (no autotuning). */
  Conn connect(int receiveBuffer) {
    try {
      Socket s = new Socket();
      if (receiveBuffer > 0) s.setReceiveBufferSize(receiveBuffer);
      s.connect(new InetSocketAddress("127.0.0.1", port()), 5_000);
      return new Conn(s);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The only connection, once accepted. */
  HttpConnection connection() {
    dev.lull.server.Awaits.until(
        Duration.ofSeconds(5), "a connection", () -> !engine.connections.isEmpty());
    return engine.connections.iterator().next();
  }

  /** Evaluates {@code f} on the connection's event loop. */
  static <T> T onLoop(HttpConnection c, Function<HttpConnection, T> f) {
    try {
      return c.channel.eventLoop().submit(() -> f.apply(c)).get(5, TimeUnit.SECONDS);
    } catch (InterruptedException | ExecutionException | TimeoutException e) {
      throw new AssertionError(e);
    }
  }

  @Override
  public void close() {
    engine.close();
  }
}
