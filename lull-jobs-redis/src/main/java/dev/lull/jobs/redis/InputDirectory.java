package dev.lull.jobs.redis;

import dev.lull.jobs.spi.InputSink;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.function.Predicate;

/**
 * The inputs of the jobs, one file per job in a directory that every instance sharing the store
 * mounts: {@code ID.part} while it is uploaded, {@code ID} once committed (written, {@code
 * fsync}ed, renamed, the directory {@code fsync}ed).
 */
final class InputDirectory {
  private static final System.Logger LOG = System.getLogger("dev.lull.jobs");
  private final Path dir;

  InputDirectory(Path dir) throws IOException {
    this.dir = dir;
    Files.createDirectories(dir);
  }

  Path path() {
    return dir;
  }

  InputSink create(String jobId) throws IOException {
    Path part = dir.resolve(checkId(jobId) + ".part");
    FileChannel ch =
        FileChannel.open(
            part,
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING);
    return new FileSink(ch, part, dir.resolve(jobId));
  }

  InputStream open(String jobId) throws IOException {
    Path p = dir.resolve(checkId(jobId));
    if (!Files.exists(p)) throw new FileNotFoundException("no input for job " + jobId);
    return new FileInputStream(p.toFile()); // its skip() seeks
  }

  void delete(String jobId) {
    try {
      Files.deleteIfExists(dir.resolve(checkId(jobId)));
    } catch (IOException | IllegalArgumentException e) {
      LOG.log(System.Logger.Level.WARNING, "jobs: cannot delete the input of " + jobId, e);
    }
  }

  /**
   * Deletes files last modified before {@code before} that are partial uploads, or inputs whose job
   * {@code stale} says is gone or final. (Only old files: another instance may be between
   * committing an input and inserting its job.)
   */
  int sweep(Instant before, Predicate<String> stale) {
    int n = 0;
    FileTime limit = FileTime.from(before);
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        try {
          if (Files.getLastModifiedTime(p).compareTo(limit) >= 0) continue;
          if (name.endsWith(".part") || stale.test(name)) {
            Files.deleteIfExists(p);
            n++;
          }
        } catch (IOException e) {
          // gone meanwhile, or unreadable: next sweep
        }
      }
    } catch (IOException e) {
      LOG.log(System.Logger.Level.WARNING, "jobs: cannot sweep " + dir, e);
    }
    return n;
  }

  static String checkId(String id) {
    if (id.isEmpty() || id.length() > 64) throw new IllegalArgumentException("bad job id: " + id);
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-')) {
        throw new IllegalArgumentException("bad job id: " + id);
      }
    }
    return id;
  }

  private final class FileSink extends InputSink {
    private final FileChannel channel;
    private final Path part;
    private final Path target;
    private final ByteBuffer one = ByteBuffer.allocate(1);
    private long size;
    private boolean committed;
    private boolean closed;

    FileSink(FileChannel channel, Path part, Path target) {
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

  private static void syncDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some file systems (some network ones) cannot sync a directory; the rename is then as
      // durable as they make it.
      if (!(e.getMessage() != null && e.getMessage().contains("Is a directory"))) throw e;
    }
  }
}
