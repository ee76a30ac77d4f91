package dev.lull.jobs.spi;

/**
 * The right of one worker to run one attempt of a job, returned by {@link JobStore#claim}. Every
 * write about a running job carries it; the store applies the write only while the job is still
 * {@code RUNNING} under this owner and attempt (a fencing token), so that a worker whose lease
 * expired and whose job another instance took over cannot overwrite the newer attempt.
 *
 * @param jobId the job
 * @param owner the claiming instance (see {@link JobStore#claim})
 * @param attempt the attempt number this claim started, from 1
 */
public record Lease(String jobId, String owner, int attempt) {}
