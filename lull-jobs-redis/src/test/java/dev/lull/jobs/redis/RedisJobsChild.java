package dev.lull.jobs.redis;

import dev.lull.jobs.Jobs;
import dev.lull.server.Router;
import dev.lull.server.Server;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A server with {@link LinesJob} on a Redis store, run as a child process by the tests: {@code
 * RedisJobsChild REDIS_URI PREFIX INPUT_DIR}. Prints {@code PORT n} once it listens, then serves
 * until it is killed.
 */
public final class RedisJobsChild {
  private RedisJobsChild() {}

  public static void main(String[] args) throws Exception {
    RedisJobStore store =
        RedisJobStore.builder(args[0])
            .prefix(args[1])
            .inputDirectory(Path.of(args[2]))
            .pollInterval(Duration.ofMillis(200))
            .reclaimIdle(Duration.ofMillis(500))
            .open();
    Jobs jobs =
        Jobs.builder()
            .store(store)
            .lease(Duration.ofSeconds(3))
            .workers(1)
            .handler("lines", LinesJob::process)
            .build()
            .start();
    Router.Builder router = Router.builder().post("/jobs/lines", jobs.acceptHandler("lines"));
    jobs.routes().forEach(router::route);
    Server server =
        Server.builder()
            .listen("127.0.0.1:0")
            .handler(router.build())
            .ioThreads(1)
            .maxBodySize(1L << 30)
            .build()
            .start();
    System.out.println("PORT " + server.listeners().get(0).port());
    System.out.println("PID " + ProcessHandle.current().pid());
    System.out.flush();
    Thread.currentThread().join();
  }
}
