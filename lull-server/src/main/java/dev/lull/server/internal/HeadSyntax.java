package dev.lull.server.internal;

import io.netty.util.ByteProcessor;

/**
 * Checks what Netty's request decoder parses leniently in a request head (RFC 9112), fed the head's
 * bytes as they arrive, possibly over several reads:
 *
 * <ul>
 *   <li>the request line is {@code method SP target SP version}: one space between the parts, never
 *       a tab, VT, FF or two spaces (Netty splits on any run of them; RFC 9112 3 allows that
 *       leniency but warns that it lets two parsers disagree);
 *   <li>no field line starts with a space or tab: an obs-fold (RFC 9112 5.2, which lets a server
 *       reject it with 400 instead of joining the lines as Netty does), or whitespace before the
 *       first field (RFC 9112 2.2).
 * </ul>
 *
 * Stops at the empty line that ends the head; {@link #reset()} before the next one.
 */
final class HeadSyntax implements ByteProcessor {
  private static final int BEFORE_LINE = 0; // empty lines before the request line are skipped
  private static final int REQUEST_LINE = 1;
  private static final int FIELDS = 2;
  private static final int DONE = 3;

  private int state = BEFORE_LINE;
  private int spaces; // in the request line
  private byte prev;
  private int lineLength; // bytes of the current field line before its CR LF
  private String error;

  /** What is wrong with the head seen so far, or null. */
  String error() {
    return error;
  }

  /** Whether the whole head has been seen (or it is known to be bad). */
  boolean done() {
    return state == DONE;
  }

  void reset() {
    state = BEFORE_LINE;
    spaces = 0;
    prev = 0;
    lineLength = 0;
    error = null;
  }

  @Override
  public boolean process(byte b) {
    switch (state) {
      case BEFORE_LINE -> {
        if (b == '\r' || b == '\n') return true;
        state = REQUEST_LINE;
        if (b == ' ' || b == '\t') return fail("whitespace before the request line");
        prev = b;
        return true;
      }
      case REQUEST_LINE -> {
        if (b == '\n') {
          if (spaces != 2) return fail("request line without exactly two single spaces");
          state = FIELDS;
          lineLength = 0;
        } else if (b == ' ') {
          if (prev == ' ') return fail("two spaces in the request line");
          spaces++;
        } else if (b == '\t' || b == 0x0b || b == 0x0c) {
          return fail("whitespace other than a space in the request line");
        } else if (b == '\r' && prev == ' ') {
          return fail("space at the end of the request line");
        }
        prev = b;
        return true;
      }
      case FIELDS -> {
        if (b == '\n') {
          if (lineLength == 0) {
            state = DONE; // the empty line: end of the head
            return false;
          }
          lineLength = 0;
        } else if (b != '\r') {
          if (lineLength == 0 && (b == ' ' || b == '\t')) {
            return fail("a field line starts with whitespace (obs-fold)");
          }
          lineLength++;
        }
        return true;
      }
      default -> {
        return false;
      }
    }
  }

  private boolean fail(String why) {
    error = why;
    state = DONE;
    return false;
  }
}
