package dev.lull.server;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Records what Lull logs (through System.Logger, backed by java.util.logging) during a test. */
final class LogCapture implements AutoCloseable {
  private final Logger logger;
  private final List<LogRecord> records = new CopyOnWriteArrayList<>();
  private final Handler handler =
      new Handler() {
        @Override
        public void publish(LogRecord record) {
          records.add(record);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };

  private LogCapture(String name) {
    this.logger = Logger.getLogger(name);
    handler.setLevel(Level.ALL);
    logger.addHandler(handler);
  }

  static LogCapture lull() {
    return new LogCapture("dev.lull.server");
  }

  /** Every record. */
  List<LogRecord> all() {
    return List.copyOf(records);
  }

  /** Records at WARNING or above. */
  List<LogRecord> problems() {
    return records.stream()
        .filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue())
        .toList();
  }

  @Override
  public void close() {
    logger.removeHandler(handler);
  }
}
