package dev.lull.jobs.internal;

import java.security.SecureRandom;
import java.time.InstantSource;

/**
 * Makes job ids: 26 characters of lower-case Crockford base32, 48 bits of milliseconds since the
 * epoch then 80 random bits (the layout of a ULID). Ids sort by creation time; within one
 * millisecond of one generator they increase (the random part is incremented), so paging by id sees
 * jobs in the order they were accepted. Unique across instances by their random part.
 */
public final class JobIds {
  private static final char[] ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz".toCharArray();
  private final InstantSource clock;
  private SecureRandom random; // guarded by this; made on the first id, off the start path
  private long lastMillis = -1;
  private long randHi; // 16 bits
  private long randLo; // 64 bits

  public JobIds(InstantSource clock) {
    this.clock = clock;
  }

  public synchronized String next() {
    long ms = clock.millis();
    if (ms <= lastMillis) {
      ms = lastMillis;
      randLo++;
      if (randLo == 0) randHi = (randHi + 1) & 0xFFFF;
    } else {
      lastMillis = ms;
      if (random == null) random = new SecureRandom();
      randHi = random.nextInt(1 << 16);
      randLo = random.nextLong();
    }
    char[] out = new char[26];
    // 48-bit time -> 10 chars (50 bits, top 2 zero)
    for (int i = 9; i >= 0; i--) {
      out[i] = ALPHABET[(int) (ms & 31)];
      ms >>>= 5;
    }
    // 80 random bits -> 16 chars: randHi (16 bits) then randLo (64 bits)
    long lo = randLo;
    long hi = randHi;
    for (int i = 25; i >= 10; i--) {
      out[i] = ALPHABET[(int) (lo & 31)];
      lo = (lo >>> 5) | ((hi & 31) << 59);
      hi >>>= 5;
    }
    return new String(out);
  }
}
