package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ListenersTest {
  private static final Handler WHO =
      (req, res) -> res.send(req.listener() + " " + req.remoteAddress().getClass().getSimpleName());

  @Test
  void aUnixSocketListenerServesAndRemovesItsFile(@TempDir Path dir) throws Exception {
    Path sock = dir.resolve("lull.sock");
    Server server = Server.builder().listen("unix:" + sock).handler(WHO).ioThreads(1).build();
    try (server) {
      server.start();
      BoundListener l = server.listeners().get(0);
      assertThat(l.address()).isEqualTo(UnixDomainSocketAddress.of(sock));
      assertThat(l.port()).isEqualTo(-1);
      try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        ch.connect(UnixDomainSocketAddress.of(sock));
        for (int i = 0; i < 2; i++) {
          ch.write(
              ByteBuffer.wrap(
                  "GET / HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
          InputStream in = Channels.newInputStream(ch);
          RawHttp.Response r = RawHttp.read(in);
          assertThat(r.bodyText()).isEqualTo("unix:" + sock + " UnixDomainSocketAddress");
        }
      }
    }
    assertThat(Files.exists(sock)).isFalse();
  }

  @Test
  void aStaleSocketFileIsReplaced(@TempDir Path dir) throws Exception {
    Path sock = dir.resolve("stale.sock");
    try (java.nio.channels.ServerSocketChannel old =
        java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      old.bind(UnixDomainSocketAddress.of(sock));
    }
    assertThat(Files.exists(sock)).isTrue();
    try (Server server =
        Server.builder().listen("unix:" + sock).handler(WHO).ioThreads(1).build()) {
      server.start();
      try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
        ch.write(
            ByteBuffer.wrap(
                "GET / HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertThat(RawHttp.read(Channels.newInputStream(ch)).status()).isEqualTo(200);
      }
    }
  }

  @Test
  void anIpv6LoopbackListenerServes() throws Exception {
    assumeTrue(ipv6LoopbackWorks(), "no IPv6 loopback here");
    try (Server server = Server.builder().listen("[::1]:0").handler(WHO).ioThreads(1).build()) {
      server.start();
      BoundListener l = server.listeners().get(0);
      InetSocketAddress a = (InetSocketAddress) l.address();
      assertThat(a.getAddress()).isInstanceOf(Inet6Address.class);
      assertThat(a.getAddress().isLoopbackAddress()).isTrue();
      assertThat(a.getPort()).isPositive();
      try (Conn c = new Conn(new Socket(a.getAddress(), a.getPort()))) {
        c.send("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n");
        assertThat(c.read().bodyText()).isEqualTo("[::1]:0 InetSocketAddress");
      }
    }
  }

  @Test
  void portZeroReportsTheRealPortAndEachListenerAnswersWithItsName() throws Exception {
    try (Server server =
        Server.builder()
            .listen("first=127.0.0.1:0")
            .listen("second=127.0.0.1:0")
            .handler(WHO)
            .ioThreads(1)
            .build()) {
      server.start();
      assertThat(server.listeners())
          .extracting(BoundListener::name)
          .containsExactly("first", "second");
      for (BoundListener l : server.listeners()) {
        assertThat(l.port()).isPositive();
        assertThat(l.inherited()).isFalse();
        try (Conn c = new Conn(new Socket("127.0.0.1", l.port()))) {
          c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
          assertThat(c.read().bodyText()).isEqualTo(l.name() + " InetSocketAddress");
        }
      }
    }
  }

  @Test
  void aPortInUseFailsStartNamingTheListener() throws Exception {
    try (java.net.ServerSocket taken =
            new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Server server =
            Server.builder()
                .listen("127.0.0.1:" + taken.getLocalPort())
                .handler(WHO)
                .ioThreads(1)
                .build()) {
      org.assertj.core.api.Assertions.assertThatThrownBy(server::start)
          .isInstanceOf(java.io.UncheckedIOException.class)
          .hasMessageContaining("127.0.0.1:" + taken.getLocalPort());
    }
  }

  private static boolean ipv6LoopbackWorks() {
    try (java.net.ServerSocket s = new java.net.ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName("::1"), 0));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
