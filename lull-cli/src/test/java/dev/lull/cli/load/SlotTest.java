package dev.lull.cli.load;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.TooLongFrameException;
import java.io.IOException;
import java.net.SocketException;
import java.nio.channels.ClosedChannelException;
import org.junit.jupiter.api.Test;

class SlotTest {
  @Test
  void classifiesTheFailuresNettyReports() {
    assertThat(Slot.classify(new SocketException("Connection reset"))).isEqualTo(FailureKind.RESET);
    assertThat(Slot.classify(new IOException("recvAddress(..) failed: Connection reset by peer")))
        .isEqualTo(FailureKind.RESET);
    assertThat(Slot.classify(new IOException("writevAddresses(..) failed: Broken pipe")))
        .isEqualTo(FailureKind.CLOSED);
    assertThat(Slot.classify(new ClosedChannelException())).isEqualTo(FailureKind.CLOSED);
    assertThat(Slot.classify(new PrematureChannelClosureException("closed")))
        .isEqualTo(FailureKind.CLOSED);
    assertThat(Slot.classify(new ConnectTimeoutException("slow"))).isEqualTo(FailureKind.TIMEOUT);
    assertThat(Slot.classify(new TooLongFrameException("huge header")))
        .isEqualTo(FailureKind.OTHER);
  }
}
