package dev.lull.server.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lull.core.SocketActivation.ListenFd;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checks on inherited fds, on fds this JVM makes (the process tests cover real systemd). */
class SystemdSocketsTest {
  private static final int O_NONBLOCK = 0_4000;
  private final List<FileDescriptor> open = new ArrayList<>();
  @TempDir Path dir;

  @BeforeAll
  static void needsEpoll() {
    assumeTrue(Epoll.isAvailable(), "the native epoll transport (Linux only)");
  }

  @AfterEach
  void closeFds() throws IOException {
    for (FileDescriptor fd : open) fd.close();
  }

  private <T extends FileDescriptor> T keep(T fd) {
    open.add(fd);
    return fd;
  }

  private static SystemdSockets.Inherited probe(FileDescriptor fd, String name) {
    return SystemdSockets.probe("listener \"systemd\": ", new ListenFd(fd.intValue(), name));
  }

  @Test
  void acceptsAListeningTcpSocketAndReportsItsAddress() throws IOException {
    Socket s = keep(Socket.newSocketStream());
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    s.listen(8);
    SystemdSockets.Inherited in = probe(s, "web");
    assertThat(in.family()).isEqualTo(SystemdSockets.Family.TCP);
    assertThat(in.address()).isEqualTo(s.localAddress());
  }

  @Test
  void acceptsAListeningUnixSocketAndReportsItsPath() throws IOException {
    Path path = dir.resolve("s.sock");
    Socket s = keep(Socket.newSocketDomain());
    s.bind(new DomainSocketAddress(path.toString()));
    s.listen(8);
    SystemdSockets.Inherited in = probe(s, "local");
    assertThat(in.family()).isEqualTo(SystemdSockets.Family.UNIX);
    assertThat(in.address()).isEqualTo(UnixDomainSocketAddress.of(path));
  }

  @Test
  void writesAnAbstractUnixSocketWithAnAt() throws IOException {
    String name = "lull-test-" + ProcessHandle.current().pid();
    Socket s = keep(Socket.newSocketDomain());
    s.bind(new DomainSocketAddress("\0" + name));
    s.listen(8);
    assertThat(probe(s, "abstract").address()).isEqualTo(UnixDomainSocketAddress.of("@" + name));
  }

  @Test
  void refusesAPipe() throws IOException {
    FileDescriptor[] pipe = FileDescriptor.pipe();
    keep(pipe[0]);
    keep(pipe[1]);
    assertThatThrownBy(() -> probe(pipe[0], "p"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith(
            "listener \"systemd\": systemd socket fd "
                + pipe[0].intValue()
                + " (p) is not a socket but pipe:[");
  }

  @Test
  void refusesAUdpSocket() throws IOException {
    Socket s = keep(Socket.newSocketDgram());
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    assertThatThrownBy(() -> probe(s, "u"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageEndingWith("is a datagram (SOCK_DGRAM) socket, not a stream socket");
  }

  @Test
  void refusesAStreamSocketThatIsNotListening() throws IOException {
    Socket s = keep(Socket.newSocketStream());
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    assertThatThrownBy(() -> probe(s, "t"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageEndingWith("is a stream socket that is not listening");
  }

  @Test
  void makeNonBlockingSetsTheFlagOnABlockingFd() throws IOException {
    // Netty makes its sockets non-blocking; a plain file opened by Netty is blocking.
    Path file = Files.writeString(dir.resolve("f"), "x");
    FileDescriptor fd = keep(FileDescriptor.from(file.toFile()));
    assertThat(SystemdSockets.statusFlags(fd.intValue()).orElseThrow() & O_NONBLOCK).isZero();
    SystemdSockets.makeNonBlocking(fd.intValue());
    assertThat(SystemdSockets.statusFlags(fd.intValue()).orElseThrow() & O_NONBLOCK).isNotZero();
    // The fd itself still works and is still ours.
    assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd.intValue()))).isEqualTo(file);
  }
}
