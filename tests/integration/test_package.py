"""The Debian package, as a user gets it: built from the distributed tree
with dpkg-buildpackage, checked by lintian, installed with dpkg -i, its
configuration checked, the installed daemon started as the unit starts it
(its user, its capabilities), reloaded, stopped, and the package purged
with nothing of it left behind. Needs root, dpkg-dev, debhelper and
lintian; slow (the package build compiles splicer and runs its unit tests).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness
from harness import (SANITIZED, SPLICER, Skip, ask, check, free_port, named, on_cleanup,
                     run, test, wait_until)

BUILDDIR = os.path.dirname(os.path.dirname(os.path.abspath(SPLICER)))
# The build alone takes minutes on a busy 2-core machine.
harness.TEST_TIMEOUT = max(harness.TEST_TIMEOUT, 1200)


def sh(argv, timeout=120, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, **kw)


def installed(pkg):
    r = sh(["dpkg-query", "-W", "-f=${Status}", pkg])
    return r.returncode == 0 and "installed" in r.stdout.split()


def build_package(top):
    """dpkg-buildpackage -us -uc -b in a copy of the distributed tree;
    returns (the .deb, the .changes, seconds it took)."""
    r = sh(["make", "-C", BUILDDIR, "distdir", "distdir=" + top + "/splicer-src"], timeout=300)
    check(r.returncode == 0, "make distdir: " + r.stdout[-1500:] + r.stderr[-1500:])
    t0 = time.time()
    r = sh(["dpkg-buildpackage", "-us", "-uc", "-b", "-j2"], timeout=1000,
           cwd=top + "/splicer-src")
    took = time.time() - t0
    check(r.returncode == 0, "dpkg-buildpackage: " + r.stdout[-3000:] + r.stderr[-3000:])
    debs = [f for f in os.listdir(top) if re.match(r"splicer_[^_]+_[a-z0-9]+\.deb$", f)]
    changes = [f for f in os.listdir(top) if f.endswith(".changes")]
    check(len(debs) == 1 and len(changes) == 1, "built %s" % os.listdir(top))
    return os.path.join(top, debs[0]), os.path.join(top, changes[0]), took


def unit_values(path, key):
    return [l.split("=", 1)[1] for l in open(path).read().splitlines() if l.startswith(key + "=")]


class Daemon:
    """/usr/sbin/splicer started as the installed unit would start it: as
    its User=, with its ambient capabilities and no new privileges, in a
    /run/splicer owned by that user (RuntimeDirectory=)."""

    def __init__(self, unit, logpath):
        user = unit_values(unit, "User")[0]
        caps = ",".join("+" + c[4:].lower() for c in unit_values(unit, "AmbientCapabilities")[0].split()
                        if c != "CAP_SYS_RESOURCE" or self._has_sys_resource())
        os.makedirs("/run/splicer", mode=0o750, exist_ok=True)
        shutil.chown("/run/splicer", user, user)
        argv = ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--no-new-privs",
                "--inh-caps=-all," + caps, "--ambient-caps=" + caps] + \
            unit_values(unit, "ExecStart")[0].split()
        self.logpath = logpath
        self.log = open(logpath, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log)
        on_cleanup(self.kill)

    @staticmethod
    def _has_sys_resource():
        bnd = int(re.search(r"^CapBnd:\s+(\S+)", open("/proc/self/status").read(), re.M).group(1), 16)
        return bnd >> 24 & 1

    def text(self):
        return open(self.logpath, "rb").read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=15):
        wait_until(lambda: re.search(pattern, self.text()) or self.proc.poll() is not None,
                   timeout, pattern)
        check(re.search(pattern, self.text()), "no %r; log:\n%s" % (pattern, self.text()[-2000:]))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@test
def test_package_builds_installs_runs_reloads_and_purges_clean():
    if os.geteuid() != 0:
        raise Skip("dpkg -i needs root")
    if SANITIZED:
        raise Skip("the package builds its own binary: once, in the release run, is enough")
    for tool in ("dpkg-buildpackage", "dh", "lintian", "setpriv"):
        if shutil.which(tool) is None:
            raise Skip("no %s (apt-get install dpkg-dev debhelper lintian)" % tool)
    if installed("splicer") or os.path.exists("/etc/splicer"):
        raise Skip("a splicer package or /etc/splicer is here already: not touching it")
    top = tempfile.mkdtemp(prefix="splicer-package-")
    on_cleanup(lambda: shutil.rmtree(top, ignore_errors=True))
    deb, changes, took = build_package(top)
    print("package built in %.0f s" % took, flush=True)

    r = sh(["lintian", "--fail-on", "error", changes], timeout=300)
    tags = [l for l in r.stdout.splitlines() if re.match(r"[EWIXP]: ", l)]
    print("lintian: %s" % (tags or "no tag"), flush=True)
    check(r.returncode == 0 and not any(t.startswith("E: ") for t in tags),
          "lintian errors:\n" + r.stdout + r.stderr)

    on_cleanup(lambda: sh(["dpkg", "--purge", "splicer"]) if installed("splicer") else None)
    r = sh(["dpkg", "-i", deb])
    check(r.returncode == 0, "dpkg -i: " + r.stdout + r.stderr)
    files = [l for l in sh(["dpkg", "-L", "splicer"]).stdout.splitlines() if os.path.isfile(l)]
    check("/usr/sbin/splicer" in files and "/etc/splicer/splicer.cfg" in files, repr(files))
    check(sh(["getent", "passwd", "splicer"]).returncode == 0, "no system user splicer")
    conffiles = sh(["dpkg-query", "-W", "-f=${Conffiles}", "splicer"]).stdout
    check("/etc/splicer/splicer.cfg" in conffiles, "not a conffile: %r" % conffiles)
    # Enabled, as Debian does with a service it installs (systemd need not run).
    wants = "/etc/systemd/system/multi-user.target.wants/splicer.service"
    check(os.path.islink(wants), "the unit is not enabled")
    r = sh(["/usr/sbin/splicer", "-c", "-f", "/etc/splicer/splicer.cfg"])
    check(r.returncode == 0, "the shipped configuration: " + r.stdout + r.stderr)

    # Start it on free ports in front of an app, reload to another app.
    a, b = named("a"), named("b")
    on_cleanup(a.close)
    on_cleanup(b.close)
    port = free_port()
    cfg = open("/etc/splicer/splicer.cfg").read()
    check("127.0.0.1:8080" in cfg and "127.0.0.1:9090" in cfg, "the example changed: adapt")
    write = lambda app: open("/etc/splicer/splicer.cfg", "w").write(
        cfg.replace("127.0.0.1:8080", "127.0.0.1:%d" % port).replace("127.0.0.1:9090", app))
    write(a.addr)
    d = Daemon("/lib/systemd/system/splicer.service", os.path.join(top, "daemon.log"))
    d.wait_log(r"splicer \S+ started")
    check(ask(port) == "a", "not relaying to the app: %s" % d.text()[-2000:])
    write(b.addr)
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(r"reload #1 succeeded")
    check(ask(port) == "b", "the reload did not take")
    r = sh(["/usr/bin/splicerctl", "-s", "/run/splicer/admin.sock", "show", "info"])
    check("LastReload: succeeded" in r.stdout, r.stdout + r.stderr)
    d.proc.send_signal(signal.SIGTERM)
    check(d.proc.wait(35) == 0, "exit %s: %s" % (d.proc.returncode, d.text()[-2000:]))

    r = sh(["dpkg", "--purge", "splicer"])
    check(r.returncode == 0, "dpkg --purge: " + r.stdout + r.stderr)
    left = [f for f in files + ["/etc/splicer", "/var/log/splicer", "/run/splicer", wants,
                                "/var/lib/systemd/deb-systemd-helper-enabled/splicer.service.dsh-also"]
            if os.path.lexists(f)]
    check(left == [], "left after purge: %s" % left)
    check(not installed("splicer"), "still installed")


run()
