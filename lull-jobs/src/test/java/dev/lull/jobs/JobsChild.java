package dev.lull.jobs;

import dev.lull.server.Router;
import dev.lull.server.Server;
import java.nio.file.Path;

/**
 * A server with the CSV job, run as a child process by the tests: {@code JobsChild DATA_DIR}.
 * Prints {@code PORT n} once it listens, then serves until it is killed.
 */
public final class JobsChild {
  private JobsChild() {}

  public static void main(String[] args) throws Exception {
    Jobs jobs =
        Jobs.builder()
            .dataDirectory(Path.of(args[0]))
            .workers(1)
            .handler("csv", CsvJob::process)
            .build()
            .start();
    Router.Builder router = Router.builder().post("/jobs/csv", jobs.acceptHandler("csv"));
    jobs.routes().forEach(router::route);
    Server server =
        Server.builder()
            .listen("127.0.0.1:0")
            .handler(router.build())
            .ioThreads(1)
            .maxBodySize(1L << 40)
            .build()
            .start();
    System.out.println("PORT " + server.listeners().get(0).port());
    System.out.println("MAXHEAP " + Runtime.getRuntime().maxMemory());
    System.out.flush();
    Thread.currentThread().join();
  }
}
