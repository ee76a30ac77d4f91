package dev.lull.core;

import dev.lull.core.spi.Drainable;
import java.time.Duration;

/**
 * The child process of {@link SignalsTest}: a lifecycle with a printing engine and the signal
 * handlers, exiting as the CLI does. With argument {@code hold}, tracked work keeps it busy until
 * cancelled, and the stop timeout is infinite.
 */
public final class SignalsChild {
  private SignalsChild() {}

  static synchronized void say(String line) {
    System.out.println(line);
    System.out.flush();
  }

  public static void main(String[] args) throws Exception {
    boolean hold = args.length > 0 && args[0].equals("hold");
    ActivityTracker tracker = ActivityTracker.builder().build();
    Drainable engine =
        new Drainable() {
          @Override
          public void start() {
            say("step start");
          }

          @Override
          public void stopAccepting() {
            say("step stopAccepting");
          }

          @Override
          public void enterLameDuck() {
            say("step enterLameDuck");
          }

          @Override
          public int cancelInFlight() {
            say("step cancelInFlight");
            return 0;
          }

          @Override
          public int forceClose() {
            say("step forceClose");
            return 0;
          }

          @Override
          public void release() {
            say("step release");
          }
        };
    Lifecycle lifecycle =
        Lifecycle.builder(engine, tracker)
            .stopTimeout(hold ? Duration.ZERO : Duration.ofSeconds(20))
            .listener(
                c ->
                    say(
                        "phase "
                            + c.from()
                            + "->"
                            + c.to()
                            + c.stopReason().map(r -> " " + r.label()).orElse("")))
            .build();
    Signals.install(lifecycle);
    if (hold) tracker.begin("test", "held until the end");
    lifecycle.start();
    say("ready");
    Termination t = lifecycle.awaitTermination();
    say(
        "terminated "
            + t.reason().label()
            + " graceful="
            + t.graceful()
            + " cancelled="
            + t.cancelled());
    System.exit(t.exitCode());
  }
}
