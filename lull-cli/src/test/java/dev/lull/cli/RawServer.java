package dev.lull.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A deliberately crude HTTP/1.1 server on a plain {@link ServerSocket}, for behaviour a real server
 * does not show on demand: closing a connection after reading a request without answering it, or
 * resetting it. Each connection is served on its own virtual thread.
 */
final class RawServer implements AutoCloseable {
  /** What to do with a request, once it has been read completely. */
  enum Action {
    ANSWER,
    CLOSE,
    RESET
  }

  /** Decides the action from the request's place: on its connection, and in the whole run. */
  @FunctionalInterface
  interface Policy {
    Action decide(int indexOnConnection, int indexOverall, String method);
  }

  private final ServerSocket socket;
  private final Policy policy;
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger accepted = new AtomicInteger();
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  RawServer(Policy policy) throws IOException {
    this.policy = policy;
    this.socket = new ServerSocket();
    socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    this.acceptor = Thread.ofVirtual().name("raw-accept").start(this::acceptLoop);
  }

  int port() {
    return socket.getLocalPort();
  }

  /** Connections accepted so far. */
  int accepted() {
    return accepted.get();
  }

  /** Requests read so far, answered or not. */
  int requests() {
    return requests.get();
  }

  private void acceptLoop() {
    while (!socket.isClosed()) {
      Socket s;
      try {
        s = socket.accept();
      } catch (IOException e) {
        return;
      }
      accepted.incrementAndGet();
      open.add(s);
      Thread.ofVirtual().name("raw-conn").start(() -> serve(s));
    }
  }

  private void serve(Socket s) {
    try (s) {
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      for (int i = 0; ; i++) {
        String method = readRequest(in);
        if (method == null) return;
        int overall = requests.getAndIncrement();
        switch (policy.decide(i, overall, method)) {
          case ANSWER -> {
            out.write(
                "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
                    .getBytes(StandardCharsets.UTF_8));
            out.flush();
          }
          case CLOSE -> {
            return;
          }
          case RESET -> {
            s.setSoLinger(true, 0);
            return;
          }
        }
      }
    } catch (IOException e) {
      // the client went away
    } finally {
      open.remove(s);
    }
  }

  /** Reads one request (head and Content-Length body); returns its method, or null at EOF. */
  private static String readRequest(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) return null;
      head.write(b);
      matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String text = head.toString(StandardCharsets.ISO_8859_1);
    long length = 0;
    for (String line : text.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Long.parseLong(line.substring("content-length:".length()).trim());
      }
    }
    in.skipNBytes(length);
    return text.substring(0, text.indexOf(' '));
  }

  @Override
  public void close() throws IOException {
    socket.close();
    for (Socket s : open) s.close();
    try {
      acceptor.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
