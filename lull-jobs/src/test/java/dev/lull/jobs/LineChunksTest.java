package dev.lull.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.Context;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.LongPredicate;
import org.junit.jupiter.api.Test;

class LineChunksTest {
  static List<LineChunks.Chunk> read(byte[] input, int chunkBytes, LongPredicate skip)
      throws Exception {
    List<LineChunks.Chunk> out = Collections.synchronizedList(new ArrayList<>());
    LineChunks.of(new ByteArrayInputStream(input), chunkBytes).skipping(skip).produce(out::add);
    return out;
  }

  static byte[] randomLines(long seed, int lines, int maxLen) {
    Random r = new Random(seed);
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int i = 0; i < lines; i++) {
      int n = r.nextInt(maxLen);
      for (int j = 0; j < n; j++) b.write('a' + r.nextInt(26));
      if (r.nextInt(5) == 0) b.write('\r');
      b.write('\n');
    }
    if (r.nextBoolean()) b.writeBytes("last-without-newline".getBytes(StandardCharsets.US_ASCII));
    return b.toByteArray();
  }

  @Test
  void chunksAreWholeLinesThatStartInTheirRangeAndCoverTheInput() throws Exception {
    for (long seed = 0; seed < 20; seed++) {
      byte[] input = randomLines(seed, 500, 300);
      int size = 1 + (int) (seed * 97 % 2000);
      List<LineChunks.Chunk> chunks = read(input, size, i -> false);
      ByteArrayOutputStream joined = new ByteArrayOutputStream();
      for (int k = 0; k < chunks.size(); k++) {
        LineChunks.Chunk c = chunks.get(k);
        assertThat(c.index()).isEqualTo(k);
        assertThat(c.offset()).isEqualTo(joined.size());
        if (c.bytes().length > 0) {
          // Its first line starts in its range, at a line start.
          assertThat(c.offset()).isBetween(k * (long) size, (k + 1) * (long) size - 1);
          assertThat(c.offset() == 0 || input[(int) c.offset() - 1] == '\n').isTrue();
        }
        joined.writeBytes(c.bytes());
      }
      assertThat(joined.toByteArray()).isEqualTo(input);
    }
  }

  @Test
  void skippingGivesTheSameChunksAsAFullRead() throws Exception {
    byte[] input = randomLines(42, 2000, 200);
    List<LineChunks.Chunk> all = read(input, 1000, i -> false);
    LongPredicate odd = i -> i % 2 == 1 || i < 5;
    List<LineChunks.Chunk> rest = read(input, 1000, odd);
    List<LineChunks.Chunk> expected = new ArrayList<>();
    for (LineChunks.Chunk c : all) if (!odd.test(c.index())) expected.add(c);
    assertThat(rest).hasSameSizeAs(expected);
    for (int i = 0; i < rest.size(); i++) {
      assertThat(rest.get(i).index()).isEqualTo(expected.get(i).index());
      assertThat(rest.get(i).offset()).isEqualTo(expected.get(i).offset());
      assertThat(rest.get(i).bytes()).isEqualTo(expected.get(i).bytes());
    }
  }

  @Test
  void aLineLongerThanAChunkLeavesEmptyChunksBehindIt() throws Exception {
    byte[] input = ("ab\n" + "x".repeat(25) + "\ncd\n").getBytes(StandardCharsets.US_ASCII);
    List<LineChunks.Chunk> chunks = read(input, 10, i -> false);
    assertThat(chunks)
        .extracting(c -> new String(c.bytes(), StandardCharsets.US_ASCII))
        .containsExactly("ab\n" + "x".repeat(25) + "\n", "", "cd\n");
  }

  @Test
  void linesLoseTheirLineEnds() throws Exception {
    byte[] input = "a,1\r\nb,2\n\nc,3".getBytes(StandardCharsets.US_ASCII);
    List<String> lines = new ArrayList<>();
    for (LineChunks.Chunk c : read(input, 1 << 20, i -> false)) {
      c.forEachLine((b, off, len) -> lines.add(new String(b, off, len, StandardCharsets.US_ASCII)));
    }
    assertThat(lines).containsExactly("a,1", "b,2", "", "c,3");
  }

  @Test
  void aLineLongerThanTheMaximumFails() {
    byte[] input = ("x".repeat(100) + "\n").getBytes(StandardCharsets.US_ASCII);
    assertThatThrownBy(
            () ->
                LineChunks.of(new ByteArrayInputStream(input), 10)
                    .maxLineLength(50)
                    .produce(c -> {}))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("line longer than 50");
  }

  @Test
  void inAPipelineEveryLineIsSeenOnce() throws Exception {
    byte[] input = randomLines(7, 5000, 50);
    long expected = 0;
    for (byte b : input) if (b == '\n') expected++;
    if (input[input.length - 1] != '\n') expected++;
    java.util.concurrent.atomic.AtomicLong lines = new java.util.concurrent.atomic.AtomicLong();
    Pipeline.of(LineChunks.of(new ByteArrayInputStream(input), 4096), 3, 2)
        .run(Context.background(), c -> c.forEachLine((b, o, l) -> lines.incrementAndGet()));
    assertThat(lines.get()).isEqualTo(expected);
  }
}
