package dev.lull.jobs;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.LongPredicate;

/**
 * Splits a stream of lines (a CSV file, a log) into chunks of whole lines of about {@code
 * chunkBytes} each, as a {@link Pipeline.Source}. The chunk boundaries depend only on the bytes:
 * chunk {@code i} holds the lines whose first byte lies in {@code [i * chunkBytes, (i + 1) *
 * chunkBytes)}. So a resumed job sees the same chunks as the attempt before it, and can record one
 * checkpoint per chunk and {@linkplain #skipping skip} the chunks it finished: they are not read,
 * the stream seeks over them ({@link InputStream#skip(long)}; {@link JobContext#input()} seeks).
 *
 * <p>A chunk may be empty (when a line longer than {@code chunkBytes} covers its whole range); it
 * is produced all the same, so that every index up to the last is seen once. A line longer than
 * {@code maxLineLength} (default 1 MiB) fails the read with an {@link IOException}: chunks hold at
 * most {@code chunkBytes + maxLineLength} bytes. Lines end with {@code \n}; a {@code \r} before it
 * and the {@code \n} are not part of the line; the last line may lack its {@code \n}. Quoted CSV
 * fields that contain newlines are not recognised.
 */
public final class LineChunks implements Pipeline.Source<LineChunks.Chunk> {
  private final InputStream in;
  private final int chunkBytes;
  private LongPredicate skip = i -> false;
  private int maxLineLength = 1 << 20;

  private final byte[] buf = new byte[64 * 1024];
  private int bpos;
  private int blim;
  private long offset; // absolute position of buf[bpos]
  private boolean eof;

  private LineChunks(InputStream in, int chunkBytes) {
    this.in = Objects.requireNonNull(in, "in");
    if (chunkBytes < 1) throw new IllegalArgumentException("chunkBytes < 1: " + chunkBytes);
    this.chunkBytes = chunkBytes;
  }

  /** Chunks of about {@code chunkBytes} from {@code in}, read from its current position as 0. */
  public static LineChunks of(InputStream in, int chunkBytes) {
    return new LineChunks(in, chunkBytes);
  }

  /** Skips (does not read nor produce) the chunks whose index {@code done} accepts. */
  public LineChunks skipping(LongPredicate done) {
    this.skip = Objects.requireNonNull(done, "done");
    return this;
  }

  /** The longest line accepted, in bytes. Default 1 MiB. */
  public LineChunks maxLineLength(int bytes) {
    if (bytes < 1) throw new IllegalArgumentException("maxLineLength < 1: " + bytes);
    this.maxLineLength = bytes;
    return this;
  }

  /** How many chunks an input of {@code size} bytes has at most. */
  public static long maxChunks(long size, int chunkBytes) {
    return (size + chunkBytes - 1) / chunkBytes;
  }

  @Override
  public void produce(Pipeline.Sink<Chunk> sink) throws IOException, InterruptedException {
    for (long index = 0; ; index++) {
      if (peek() < 0) return;
      long start = offset;
      if (skip.test(index)) {
        advanceTo(index + 1, null);
      } else {
        Growable g = new Growable(Math.max(16, (int) Math.min(chunkBytes + 256L, 1 << 24)));
        advanceTo(index + 1, g);
        sink.put(new Chunk(index, start, g.toArray()));
      }
    }
  }

  /**
   * Moves from the current line start to the first line start at or after {@code k * chunkBytes}
   * (or the end), collecting the bytes passed into {@code out} if not null.
   */
  private void advanceTo(long k, Growable out) throws IOException {
    long target = k * chunkBytes;
    if (offset >= target) return;
    if (out != null) copyTo(target - 1, out);
    else skipTo(target - 1);
    int b = read();
    if (b < 0) return;
    if (out != null) out.add((byte) b);
    if (b == '\n') return;
    // Finish the line that straddles the boundary.
    long lineStart = offset - 1;
    while ((b = read()) >= 0) {
      if (out != null) out.add((byte) b);
      if (b == '\n') return;
      if (offset - lineStart > maxLineLength) {
        throw new IOException(
            "line longer than " + maxLineLength + " bytes at offset " + lineStart);
      }
    }
  }

  private int peek() throws IOException {
    if (bpos == blim && !fill()) return -1;
    return buf[bpos] & 0xff;
  }

  private int read() throws IOException {
    if (bpos == blim && !fill()) return -1;
    offset++;
    return buf[bpos++] & 0xff;
  }

  private boolean fill() throws IOException {
    if (eof) return false;
    int n = in.read(buf, 0, buf.length);
    if (n <= 0) {
      if (n < 0) eof = true;
      else {
        int b = in.read();
        if (b < 0) {
          eof = true;
          return false;
        }
        buf[0] = (byte) b;
        bpos = 0;
        blim = 1;
        return true;
      }
      return false;
    }
    bpos = 0;
    blim = n;
    return true;
  }

  private void copyTo(long end, Growable out) throws IOException {
    while (offset < end) {
      if (bpos == blim && !fill()) return;
      int n = (int) Math.min(blim - bpos, end - offset);
      out.add(buf, bpos, n);
      bpos += n;
      offset += n;
    }
  }

  private void skipTo(long end) throws IOException {
    long n = end - offset;
    if (n <= 0) return;
    int inBuf = blim - bpos;
    if (n <= inBuf) {
      bpos += (int) n;
      offset = end;
      return;
    }
    n -= inBuf;
    offset += inBuf;
    bpos = blim;
    while (n > 0) {
      long s = in.skip(n);
      if (s <= 0) {
        if (in.read() < 0) {
          eof = true;
          return;
        }
        s = 1;
      }
      n -= s;
      offset += s;
    }
  }

  private static final class Growable {
    byte[] a;
    int n;

    Growable(int capacity) {
      a = new byte[capacity];
    }

    void add(byte b) {
      if (n == a.length) a = Arrays.copyOf(a, a.length * 2);
      a[n++] = b;
    }

    void add(byte[] src, int off, int len) {
      if (n + len > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, n + len));
      System.arraycopy(src, off, a, n, len);
      n += len;
    }

    byte[] toArray() {
      return n == a.length ? a : Arrays.copyOf(a, n);
    }
  }

  /** Receives one line: {@code length} bytes of {@code bytes} from {@code offset}. */
  @FunctionalInterface
  public interface LineConsumer {
    void line(byte[] bytes, int offset, int length) throws Exception;
  }

  /**
   * A chunk of whole lines.
   *
   * @param index its number, from 0
   * @param offset where its first byte lies in the input
   * @param bytes its lines, with their line ends
   */
  public record Chunk(long index, long offset, byte[] bytes) {
    /** Calls {@code consumer} for each line, in order, without its line end. */
    public void forEachLine(LineConsumer consumer) throws Exception {
      int start = 0;
      for (int i = 0; i < bytes.length; i++) {
        if (bytes[i] == '\n') {
          int end = i > start && bytes[i - 1] == '\r' ? i - 1 : i;
          consumer.line(bytes, start, end - start);
          start = i + 1;
        }
      }
      if (start < bytes.length) {
        int end = bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        consumer.line(bytes, start, end - start);
      }
    }
  }
}
