package dev.lull.jobs;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/** Records job events; tests wait on them instead of sleeping. */
final class EventLog implements JobListener {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final List<JobEvent> events = new ArrayList<>();

  @Override
  public void stateChanged(JobEvent event) {
    lock.lock();
    try {
      events.add(event);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Waits for the first event of job {@code id} matching {@code p}; fails after 20 s. */
  JobEvent await(String id, Predicate<JobEvent> p) throws InterruptedException {
    return await(id, p, Duration.ofSeconds(20));
  }

  JobEvent await(String id, Predicate<JobEvent> p, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (true) {
        for (JobEvent e : events) if (e.id().equals(id) && p.test(e)) return e;
        long left = end - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError(
              "no matching event for job " + id + " within " + timeout + ": " + events);
        }
        changed.await(left, TimeUnit.NANOSECONDS);
      }
    } finally {
      lock.unlock();
    }
  }

  JobEvent await(String id, JobState state) throws InterruptedException {
    return await(id, e -> e.state() == state);
  }

  /** The states job {@code id} went through, with attempts: {@code QUEUED/0, RUNNING/1, ...}. */
  List<String> states(String id) {
    lock.lock();
    try {
      List<String> out = new ArrayList<>();
      for (JobEvent e : events) if (e.id().equals(id)) out.add(e.state() + "/" + e.attempt());
      return out;
    } finally {
      lock.unlock();
    }
  }
}
