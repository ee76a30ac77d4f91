package dev.lull.jobs.redis;

import dev.lull.jobs.spi.InputFiles;
import dev.lull.jobs.spi.InputSink;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
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
    return InputFiles.create(dir, jobId);
  }

  InputStream open(String jobId) throws IOException {
    Path p = dir.resolve(InputFiles.checkId(jobId));
    if (!Files.exists(p)) throw new FileNotFoundException("no input for job " + jobId);
    return new FileInputStream(p.toFile()); // its skip() seeks
  }

  void delete(String jobId) {
    try {
      Files.deleteIfExists(dir.resolve(InputFiles.checkId(jobId)));
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
}
