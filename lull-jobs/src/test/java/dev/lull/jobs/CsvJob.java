package dev.lull.jobs;

import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

/**
 * The CSV job of the tests (the demo's twin in lull-cli): counts the non-empty lines and sums their
 * CRC32s, one checkpoint per chunk, so that a resumed attempt skips what an earlier one committed
 * and the result is exact however often chunks were processed.
 *
 * <p>Parameters: {@code chunk} (bytes, default 1 MiB), {@code workers} (default 2), {@code delayMs}
 * (work per chunk, to make a job slow enough to be killed in the middle).
 */
final class CsvJob {
  private CsvJob() {}

  static Map<String, ?> process(JobContext job) throws Exception {
    int chunkBytes = Integer.parseInt(job.parameter("chunk").orElse("1048576"));
    int workers = Integer.parseInt(job.parameter("workers").orElse("2"));
    long delayMs = Long.parseLong(job.parameter("delayMs").orElse("0"));
    Map<String, String> before = job.checkpoints("chunk-");
    AtomicLong bytesDone = new AtomicLong();
    for (String v : before.values()) bytesDone.addAndGet(Long.parseLong(v.split(",")[2]));
    job.progress(bytesDone.get(), job.inputSize());
    try (InputStream in = job.input()) {
      LineChunks chunks = LineChunks.of(in, chunkBytes).skipping(i -> before.containsKey(key(i)));
      Pipeline.of(chunks, workers, 2 * workers)
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
                job.done(
                    key(chunk.index()),
                    rowsAndSum[0] + "," + rowsAndSum[1] + "," + chunk.bytes().length);
                job.progress(bytesDone.addAndGet(chunk.bytes().length), job.inputSize());
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
    result.put("chunks", all.size());
    result.put("chunksResumed", before.size());
    return result;
  }

  static String key(long index) {
    return String.format("chunk-%012d", index);
  }
}
