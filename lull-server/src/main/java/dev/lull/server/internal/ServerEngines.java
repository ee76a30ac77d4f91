package dev.lull.server.internal;

import dev.lull.core.spi.Drainable;
import dev.lull.server.BoundListener;
import dev.lull.server.internal.admin.AdminAccess;
import dev.lull.server.internal.admin.AdminPlane;
import java.util.List;

/**
 * What a server's lifecycle drives: the engine of the public listeners and, if configured, the
 * admin listener's own engine. The admin engine starts first (so {@code /readyz} answers "starting"
 * while the public listeners bind) and is released last, after the public engine, so that health
 * checks, metrics and the status page stay reachable through the whole stop. Only the public engine
 * drains: admin connections are never counted by the server's tracker (a Prometheus scrape must not
 * keep the server awake) and are closed with the admin engine at the very end.
 */
public final class ServerEngines implements Drainable {
  private final Engine main;
  private volatile Engine admin; // null: no admin listener
  private volatile AdminPlane plane;
  private volatile boolean adminPublic;
  private boolean released; // guarded by this

  public ServerEngines(Engine main) {
    this.main = main;
  }

  /** Adds the admin listener's engine and the plane it serves; before {@link #start()}. */
  public void admin(Engine admin, AdminPlane plane, boolean adminPublic) {
    this.admin = admin;
    this.plane = plane;
    this.adminPublic = adminPublic;
  }

  /**
   * The plane whose resources {@link #release()} frees; made lazily when there is no admin
   * listener, so possibly after the release, in which case it is freed at once.
   */
  public void plane(AdminPlane plane) {
    boolean late;
    synchronized (this) {
      this.plane = plane;
      late = released;
    }
    if (late) plane.close();
  }

  public List<BoundListener> adminListeners() {
    Engine a = admin;
    return a == null ? List.of() : a.listeners();
  }

  @Override
  public void start() {
    Engine a = admin;
    if (a != null) {
      a.start();
      try {
        // A systemd socket's address is known only now.
        for (BoundListener l : a.listeners()) AdminAccess.check(l, adminPublic);
      } catch (RuntimeException e) {
        a.close();
        throw e;
      }
    }
    try {
      main.start();
    } catch (RuntimeException e) {
      if (a != null) a.close();
      throw e;
    }
  }

  @Override
  public void stopAccepting() {
    main.stopAccepting();
  }

  @Override
  public void enterLameDuck() {
    main.enterLameDuck();
  }

  @Override
  public int cancelInFlight() {
    return main.cancelInFlight();
  }

  @Override
  public int forceClose() {
    return main.forceClose();
  }

  @Override
  public void release() {
    try {
      main.release();
    } finally {
      try {
        Engine a = admin;
        if (a != null) a.close();
      } finally {
        AdminPlane p;
        synchronized (this) {
          released = true;
          p = plane;
        }
        if (p != null) p.close();
      }
    }
  }
}
