package bench;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.nio.channels.Channel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * The JDK's own HTTP server (com.sun.net.httpserver) with a virtual thread per request, answering
 * every request with a short text, Content-Length and keep-alive (its defaults otherwise, e.g. at
 * most 200 idle keep-alive connections). Usage: {@code JdkHello PORT [HOST]}; PORT {@code inherited}
 * adopts the listening socket on fd 0 (System.inheritedChannel(); systemd passes it as fd 3, so the
 * caller runs {@code sh -c 'exec java ... 0<&3'}).
 *
 * <p>HttpServer has no API to adopt a listening channel: its implementation opens its own in the
 * constructor. So the unbound server's channel is swapped for the inherited one by reflection,
 * which needs {@code --add-opens jdk.httpserver/sun.net.httpserver=ALL-UNNAMED}.
 */
public final class JdkHello {
  private static final byte[] BODY = "hello from jdk\n".getBytes(StandardCharsets.US_ASCII);

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: jdk-hello PORT|inherited [HOST]");
      System.exit(2);
    }
    HttpServer server;
    if (args[0].equals("inherited")) {
      server = HttpServer.create();
      adopt(server, System.inheritedChannel());
    } else {
      String host = args.length > 1 ? args[1] : "127.0.0.1";
      server = HttpServer.create(new InetSocketAddress(host, Integer.parseInt(args[0])), 1024);
    }
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext(
        "/",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          exchange.getResponseHeaders().set("Content-Type", "text/plain");
          exchange.sendResponseHeaders(200, BODY.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(BODY);
          }
        });
    server.start();
    System.out.println("jdk-hello listening on " + server.getAddress());
  }

  /** Replaces the unbound server's own channel with {@code inherited}, as bind() would. */
  private static void adopt(HttpServer server, Channel inherited) throws Exception {
    if (!(inherited instanceof ServerSocketChannel channel)) {
      System.err.println("jdk-hello: fd 0 is not a listening socket: " + inherited);
      System.exit(2);
      return;
    }
    Object impl = field(server.getClass(), "server").get(server);
    Class<?> c = impl.getClass();
    ((SelectionKey) field(c, "listenerKey").get(impl)).cancel();
    ((ServerSocketChannel) field(c, "schan").get(impl)).close();
    channel.configureBlocking(false);
    Selector selector = (Selector) field(c, "selector").get(impl);
    field(c, "schan").set(impl, channel);
    field(c, "listenerKey").set(impl, channel.register(selector, SelectionKey.OP_ACCEPT));
    field(c, "bound").setBoolean(impl, true);
  }

  private static Field field(Class<?> c, String name) throws NoSuchFieldException {
    Field f = c.getDeclaredField(name);
    f.setAccessible(true);
    return f;
  }
}
