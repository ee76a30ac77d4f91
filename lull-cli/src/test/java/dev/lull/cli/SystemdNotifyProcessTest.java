package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code lull demo} as systemd runs it with {@code Type=notify} and {@code WatchdogSec=}: the test
 * plays the service manager's notification socket (abstract namespace) and sends SIGTERM.
 */
class SystemdNotifyProcessTest {
  @Test
  void demoSaysReadyPingsTheWatchdogAndSaysStoppingOnSigterm() throws Exception {
    BlockingQueue<String> received = new LinkedBlockingQueue<>();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    String name = "lull-notify-test-" + UUID.randomUUID();
    Channel receiver =
        new Bootstrap()
            .group(group)
            .channel(EpollDomainDatagramChannel.class)
            .handler(
                new SimpleChannelInboundHandler<DomainDatagramPacket>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, DomainDatagramPacket p) {
                    received.add(p.content().toString(StandardCharsets.UTF_8));
                  }
                })
            .bind(new DomainSocketAddress("\0" + name))
            .syncUninterruptibly()
            .channel();
    ProcessBuilder pb =
        new ProcessBuilder(
                DemoProcess.command(
                    "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--idle-timeout", "0"))
            .redirectErrorStream(true);
    pb.environment().put("NOTIFY_SOCKET", "@" + name);
    pb.environment().put("WATCHDOG_USEC", "1000000"); // pings every 500ms
    pb.environment().remove("WATCHDOG_PID");
    Process p = pb.start();
    DemoProcess.Output out = new DemoProcess.Output(p.getInputStream());
    List<String> messages = new ArrayList<>();
    try {
      awaitMessage(received, messages, "READY=1", Duration.ofSeconds(60));
      int pingsBefore = count(messages, "WATCHDOG=1");
      while (count(messages, "WATCHDOG=1") < pingsBefore + 2) {
        awaitMessage(received, messages, "WATCHDOG=1", Duration.ofSeconds(10));
      }

      p.destroy(); // SIGTERM
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("exited; output: %s", out.lines()).isTrue();
      assertThat(p.exitValue()).isZero();
      for (String m; (m = received.poll(1, TimeUnit.SECONDS)) != null; ) messages.add(m);
    } finally {
      p.destroyForcibly();
      receiver.close().syncUninterruptibly();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
    int ready = indexOf(messages, "READY=1");
    int stopping = indexOf(messages, "STOPPING=1");
    int stopped = indexOf(messages, "STATUS=stopped (signal)");
    assertThat(ready).as("%s", messages).isGreaterThanOrEqualTo(0);
    assertThat(stopping).as("%s", messages).isGreaterThan(ready);
    assertThat(stopped).as("%s", messages).isGreaterThan(stopping);
    assertThat(messages.get(ready)).contains("STATUS=serving 0 connections");
  }

  private static void awaitMessage(
      BlockingQueue<String> received, List<String> messages, String text, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      String m = left > 0 ? received.poll(left, TimeUnit.NANOSECONDS) : null;
      if (m == null)
        throw new AssertionError("no " + text + " within " + timeout + ": " + messages);
      messages.add(m);
      if (m.contains(text)) return;
    }
  }

  private static int count(List<String> messages, String text) {
    return (int) messages.stream().filter(m -> m.contains(text)).count();
  }

  private static int indexOf(List<String> messages, String text) {
    for (int i = 0; i < messages.size(); i++) {
      if (messages.get(i).contains(text)) return i;
    }
    return -1;
  }
}
