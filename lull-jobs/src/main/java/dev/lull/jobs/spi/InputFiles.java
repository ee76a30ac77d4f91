package dev.lull.jobs.spi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Job inputs as files in a directory, written durably: an input goes to {@code ID.part}, is
 * fsynced, renamed to {@code ID} and the directory fsynced, so a committed input survives a crash
 * and an uncommitted one is never seen under its id. Stores keep their inputs this way.
 */
public final class InputFiles {
  private InputFiles() {}

  /**
   * A sink for job {@code jobId}'s input in {@code dir}.
   *
   * @throws IllegalArgumentException if the id is not 1-64 letters, digits or dashes (it becomes a
   *     file name)
   */
  public static InputSink create(Path dir, String jobId) throws IOException {
    Path part = dir.resolve(checkId(jobId) + ".part");
    FileChannel ch =
        FileChannel.open(
            part,
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING);
    return new FileSink(dir, ch, part, dir.resolve(jobId));
  }

  /** The committed input of {@code jobId} in {@code dir}. */
  public static Path path(Path dir, String jobId) {
    return dir.resolve(checkId(jobId));
  }

  /**
   * Returns {@code id} if it can be a file name.
   *
   * @throws IllegalArgumentException if it is not 1-64 letters, digits or dashes
   */
  public static String checkId(String id) {
    if (id.isEmpty() || id.length() > 64) throw new IllegalArgumentException("bad job id: " + id);
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-')) {
        throw new IllegalArgumentException("bad job id: " + id);
      }
    }
    return id;
  }

  /** Makes the entries of {@code dir} durable (a rename into it, say). */
  public static void syncDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some file systems (some network ones) cannot sync a directory; the rename is then as
      // durable as they make it.
      if (!(e.getMessage() != null && e.getMessage().contains("Is a directory"))) throw e;
    }
  }

  private static final class FileSink extends InputSink {
    private final Path dir;
    private final FileChannel channel;
    private final Path part;
    private final Path target;
    private final ByteBuffer one = ByteBuffer.allocate(1);
    private long size;
    private boolean committed;
    private boolean closed;

    FileSink(Path dir, FileChannel channel, Path part, Path target) {
      this.dir = dir;
      this.channel = channel;
      this.part = part;
      this.target = target;
    }

    @Override
    public void write(int b) throws IOException {
      one.clear();
      one.put((byte) b).flip();
      write(one);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      write(ByteBuffer.wrap(b, off, len));
    }

    private void write(ByteBuffer buf) throws IOException {
      if (closed) throw new IOException("input sink closed");
      while (buf.hasRemaining()) size += channel.write(buf);
    }

    @Override
    public long commit() throws IOException {
      if (closed) throw new IOException("input sink closed");
      channel.force(true);
      channel.close();
      Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
      syncDirectory(dir);
      committed = true;
      closed = true;
      return size;
    }

    @Override
    public void close() throws IOException {
      if (committed) return;
      closed = true;
      try {
        channel.close();
      } finally {
        Files.deleteIfExists(part);
      }
    }
  }
}
