package dev.lull.jobs.redis;

import dev.lull.jobs.JobContext;
import dev.lull.jobs.LineChunks;
import dev.lull.jobs.Pipeline;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * The test job: counts the non-empty lines of its input and sums their CRC32s, one checkpoint per
 * chunk, so that an attempt resumed on another instance skips what the dead one committed and the
 * result is exact. Parameters: {@code chunk} (bytes), {@code delayMs} (work per chunk).
 */
final class LinesJob {
  private LinesJob() {}

  static Map<String, ?> process(JobContext job) throws Exception {
    int chunkBytes = Integer.parseInt(job.parameter("chunk").orElse("1048576"));
    long delayMs = Long.parseLong(job.parameter("delayMs").orElse("0"));
    Map<String, String> before = job.checkpoints("chunk-");
    try (InputStream in = job.input()) {
      LineChunks chunks = LineChunks.of(in, chunkBytes).skipping(i -> before.containsKey(key(i)));
      Pipeline.of(chunks, 1, 2)
          .run(
              job.context(),
              chunk -> {
                long[] rowsAndSum = new long[2];
                CRC32 crc = new CRC32();
                chunk.forEachLine(
                    (b, off, len) -> {
                      if (len == 0) return;
                      crc.reset();
                      crc.update(b, off, len);
                      rowsAndSum[0]++;
                      rowsAndSum[1] += crc.getValue();
                    });
                if (delayMs > 0) Thread.sleep(delayMs); // "work" per chunk
                job.done(key(chunk.index()), rowsAndSum[0] + "," + rowsAndSum[1]);
              });
    }
    long rows = 0;
    long sum = 0;
    Map<String, String> all = job.checkpoints("chunk-");
    for (String v : all.values()) {
      String[] f = v.split(",");
      rows += Long.parseLong(f[0]);
      sum += Long.parseLong(f[1]);
    }
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("rows", rows);
    result.put("checksum", Long.toHexString(sum));
    result.put("chunksResumed", before.size());
    return result;
  }

  static String key(long index) {
    return String.format("chunk-%012d", index);
  }
}
