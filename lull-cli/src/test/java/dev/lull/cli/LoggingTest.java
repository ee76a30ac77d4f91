package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

class LoggingTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static LogRecord record(Level level, String message, Throwable thrown) {
    LogRecord r = new LogRecord(level, message);
    r.setLoggerName("dev.lull.test");
    r.setInstant(java.time.Instant.parse("2026-01-31T12:00:00.123Z"));
    r.setThrown(thrown);
    return r;
  }

  @Test
  void textIsOneLinePerEventWithoutStackTracesForExpectedOutcomes() {
    Logging.LineFormatter f = new Logging.LineFormatter(Logging.Format.TEXT, false);
    assertThat(f.format(record(Level.INFO, "started", null)))
        .isEqualTo("2026-01-31T12:00:00.123Z INFO dev.lull.test: started\n");
    IOException gone = new IOException("Broken pipe", new IllegalStateException("reset"));
    assertThat(f.format(record(Level.WARNING, "client went away", gone)))
        .isEqualTo(
            "2026-01-31T12:00:00.123Z WARN dev.lull.test: client went away: java.io.IOException:"
                + " Broken pipe; caused by java.lang.IllegalStateException: reset\n");
    assertThat(f.format(record(Level.INFO, "two\nlines", null))).endsWith("two\\nlines\n");
  }

  @Test
  void errorsKeepTheirStackTrace() {
    Logging.LineFormatter f = new Logging.LineFormatter(Logging.Format.TEXT, false);
    String s = f.format(record(Level.SEVERE, "bug", new NullPointerException("x")));
    assertThat(s).startsWith("2026-01-31T12:00:00.123Z ERROR dev.lull.test: bug\n");
    assertThat(s).contains("java.lang.NullPointerException: x\n").contains("\tat ");
  }

  @Test
  void underJournaldEveryLineCarriesItsPriorityAndNoTimestamp() {
    Logging.LineFormatter f = new Logging.LineFormatter(Logging.Format.TEXT, true);
    assertThat(f.format(record(Level.INFO, "started", null)))
        .isEqualTo("<6>dev.lull.test: started\n");
    assertThat(f.format(record(Level.WARNING, "slow", null))).isEqualTo("<4>dev.lull.test: slow\n");
    assertThat(f.format(record(Level.FINE, "detail", null)))
        .isEqualTo("<7>dev.lull.test: detail\n");
    String error = f.format(record(Level.SEVERE, "bug", new NullPointerException()));
    assertThat(error.split("\n")).allMatch(line -> line.startsWith("<3>")).hasSizeGreaterThan(2);
  }

  @Test
  void jsonLinesAreValidJsonWithOneObjectPerEvent() throws Exception {
    Logging.LineFormatter f = new Logging.LineFormatter(Logging.Format.JSON, false);
    String line =
        f.format(record(Level.WARNING, "quote \" and\nnewline", new IOException("Broken pipe")));
    assertThat(line).endsWith("}\n").doesNotContain("\n{").hasLineCount(1);
    JsonNode n = JSON.readTree(line);
    assertThat(n.get("time").asText()).isEqualTo("2026-01-31T12:00:00.123Z");
    assertThat(n.get("level").asText()).isEqualTo("WARN");
    assertThat(n.get("priority").asInt()).isEqualTo(4);
    assertThat(n.get("logger").asText()).isEqualTo("dev.lull.test");
    assertThat(n.get("message").asText()).isEqualTo("quote \" and\nnewline");
    assertThat(n.get("error").asText()).isEqualTo("java.io.IOException: Broken pipe");
    assertThat(n.has("stack")).isFalse();

    JsonNode err = JSON.readTree(f.format(record(Level.SEVERE, "bug", new NullPointerException())));
    assertThat(err.get("stack").asText()).contains("java.lang.NullPointerException");

    Logging.LineFormatter journal = new Logging.LineFormatter(Logging.Format.JSON, true);
    String prefixed = journal.format(record(Level.INFO, "x", null));
    assertThat(prefixed).startsWith("<6>{");
    assertThat(JSON.readTree(prefixed.substring(3)).get("message").asText()).isEqualTo("x");
  }

  @Test
  void journalIsDetectedOnlyWhenJournalStreamNamesOurStderr() {
    assertThat(Logging.isJournal("8:12345", Optional.of("8:12345"))).isTrue();
    assertThat(Logging.isJournal("8:12345", Optional.of("8:999")))
        .isFalse(); // inherited, redirected
    assertThat(Logging.isJournal(null, Optional.of("8:12345"))).isFalse();
    assertThat(Logging.isJournal("", Optional.of("8:12345"))).isFalse();
    assertThat(Logging.isJournal("8:12345", Optional.empty())).isFalse();
    // On Linux our own stderr has an identity of that shape.
    assertThat(Logging.stderrIdentity())
        .hasValueSatisfying(id -> assertThat(id).matches("\\d+:\\d+"));
  }

  @Test
  void formatIsTextOrJson() {
    assertThat(Logging.Format.parse("JSON")).isEqualTo(Logging.Format.JSON);
    assertThat(Logging.Format.parse("text")).isEqualTo(Logging.Format.TEXT);
    assertThatThrownBy(() -> Logging.Format.parse("xml"))
        .hasMessage("log format must be text or json: \"xml\"");
  }
}
