package dev.lull.server.internal;

import dev.lull.core.Context;
import dev.lull.server.Handler;
import dev.lull.server.ListenerSpec;
import dev.lull.server.Scheduling;
import java.time.Duration;
import java.util.List;

/** The validated configuration of one server. */
public record Settings(
    List<ListenerSpec> listeners,
    Handler handler,
    int maxRequestLineLength,
    int maxHeaderSize,
    long maxBodySize,
    Duration readHeaderTimeout,
    Duration readBodyTimeout,
    Duration keepAliveTimeout,
    int ioThreads,
    int responseBufferSize,
    Duration requestTimeout,
    boolean interruptOnCancel,
    Duration lameDuckIdleGrace,
    Context baseContext,
    Scheduling scheduling,
    int maxConnections) {}
