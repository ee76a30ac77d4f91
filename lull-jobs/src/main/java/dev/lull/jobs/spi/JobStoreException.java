package dev.lull.jobs.spi;

/** A {@link JobStore} could not read or write (the database failed, the disk is full...). */
public class JobStoreException extends RuntimeException {
  public JobStoreException(String message, Throwable cause) {
    super(message, cause);
  }

  public JobStoreException(String message) {
    super(message);
  }
}
