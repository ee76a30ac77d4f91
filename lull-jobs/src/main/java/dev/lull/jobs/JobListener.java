package dev.lull.jobs;

/**
 * Observes the state changes of jobs: for metrics, a status page, or a test that waits for an event
 * instead of polling. Called on the thread that made the change, after the store recorded it and
 * after the job's tracked work was released; must be quick. An exception it throws is logged and
 * ignored. The events of one job come in order, except that a job accepted while the dispatcher is
 * already claiming may be told {@code RUNNING} just before {@code QUEUED} (they happen on different
 * threads at the same moment).
 */
@FunctionalInterface
public interface JobListener {
  void stateChanged(JobEvent event);
}
