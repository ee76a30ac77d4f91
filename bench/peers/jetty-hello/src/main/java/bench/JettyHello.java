package bench;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.VirtualThreads;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * A Jetty 12 HTTP/1.1 server whose handler runs on virtual threads (a {@link QueuedThreadPool}
 * with a virtual-thread executor: Jetty's selectors stay on platform threads, a blocking handler
 * such as {@link Handler.Abstract} is run on a virtual thread) and answers every request with a
 * short text, Content-Length and keep-alive. Usage: {@code JettyHello PORT [HOST]}; PORT {@code
 * inherited} adopts the listening socket on fd 0 (System.inheritedChannel(), Jetty's
 * inheritChannel): systemd passes it as fd 3, so the caller runs {@code sh -c 'exec java ... 0<&3'}.
 */
public final class JettyHello {
  private static final byte[] BODY = "hello from jetty\n".getBytes(StandardCharsets.US_ASCII);

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: jetty-hello PORT|inherited [HOST]");
      System.exit(2);
    }
    QueuedThreadPool pool = new QueuedThreadPool();
    pool.setName("jetty");
    pool.setVirtualThreadsExecutor(VirtualThreads.getDefaultVirtualThreadsExecutor());
    Server server = new Server(pool);
    ServerConnector connector = new ServerConnector(server);
    if (args[0].equals("inherited")) {
      connector.setInheritChannel(true);
    } else {
      connector.setHost(args.length > 1 ? args[1] : "127.0.0.1");
      connector.setPort(Integer.parseInt(args[0]));
    }
    server.addConnector(connector);
    server.setHandler(
        new Handler.Abstract() {
          @Override
          public boolean handle(Request request, Response response, Callback callback) {
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, BODY.length);
            response.write(true, ByteBuffer.wrap(BODY), callback);
            return true;
          }
        });
    server.start();
    System.out.println("jetty-hello listening on port " + connector.getLocalPort());
    server.join();
  }
}
