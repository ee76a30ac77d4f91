package dev.lull.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.Test;

class NettyLeakCheckTest {
  @Test
  void leakDetectionIsParanoidInTests() {
    assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.PARANOID);
  }

  @Test
  void aBufferCollectedWithoutReleaseIsReported() {
    leakOne();
    assertThat(NettyLeakCheck.collect()).anyMatch(s -> s.contains("lull-leak-check-canary"));
  }

  private static void leakOne() {
    ByteBuf leaked = ByteBufAllocator.DEFAULT.directBuffer(16);
    leaked.touch("lull-leak-check-canary");
    leaked.writeInt(42);
    // not released: the detector must report it once it is collected
  }
}
