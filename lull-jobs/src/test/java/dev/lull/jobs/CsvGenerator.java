package dev.lull.jobs;

import java.io.InputStream;
import java.util.zip.CRC32;

/**
 * A CSV made on the fly, never held in memory: fixed-width rows {@code id,value} of 32 bytes, and
 * the row count and checksum (sum of the rows' CRC32s, as {@link CsvJob} computes) of what was read
 * so far.
 */
final class CsvGenerator extends InputStream {
  static final int ROW = 32;
  private final long rows;
  private long row;
  private final byte[] current = new byte[ROW];
  private int pos = ROW;
  private final CRC32 crc = new CRC32();
  long checksum;
  long rowsRead;

  CsvGenerator(long rows) {
    this.rows = rows;
  }

  long size() {
    return rows * ROW;
  }

  private boolean next() {
    if (row == rows) return false;
    // 10 digits id, comma, 20 digits value, newline
    digits(row, 0, 10);
    current[10] = ',';
    digits((row * 2654435761L) & 0x7fffffffffffL, 11, 20);
    current[31] = '\n';
    crc.reset();
    crc.update(current, 0, ROW - 1);
    checksum += crc.getValue();
    rowsRead++;
    row++;
    pos = 0;
    return true;
  }

  private void digits(long v, int at, int width) {
    for (int i = at + width - 1; i >= at; i--) {
      current[i] = (byte) ('0' + (v % 10));
      v /= 10;
    }
  }

  @Override
  public int read() {
    if (pos == ROW && !next()) return -1;
    return current[pos++] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) {
    if (len == 0) return 0;
    int n = 0;
    while (n < len) {
      if (pos == ROW && !next()) break;
      int k = Math.min(len - n, ROW - pos);
      System.arraycopy(current, pos, b, off + n, k);
      pos += k;
      n += k;
    }
    return n == 0 ? -1 : n;
  }
}
