package dev.lull.jobs.spi;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Where a job's input is written while a request uploads it. Nothing is visible until {@link
 * #commit()}; {@link #close()} without a commit discards what was written.
 */
public abstract class InputSink extends OutputStream {
  /**
   * Makes the input durable (written through to stable storage) and visible under its job id.
   *
   * @return the size in bytes
   */
  public abstract long commit() throws IOException;

  /** Discards the input unless it was committed. Idempotent. */
  @Override
  public abstract void close() throws IOException;
}
