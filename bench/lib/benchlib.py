"""Helpers shared by the machine benchmarks (bench/ssh-converge, bench/demo-time).

Timing: `measure()` runs one command and returns its wall time and the CPU time (user + sys) of the command and of
every process it started on this machine. CPU comes from getrusage(RUSAGE_CHILDREN) deltas. After
`become_subreaper()`, daemonized grandchildren (Ansible's ssh ControlPersist masters) are re-parented to this
process and their CPU is counted once they exit and `reap()` collects them.
"""
import ctypes, os, re, resource, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OTTO = os.path.abspath(os.environ.get("OTTO_BIN", os.path.join(ROOT, ".build/release/otto")))
STATE_DIR = "/var/lib/otto-bench"
SSH_KEY = STATE_DIR + "/ssh/id_ed25519"

PR_SET_CHILD_SUBREAPER = 36


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def become_subreaper():
    """Orphaned descendants are re-parented to this process (so their CPU time can be collected)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log("warning: prctl(PR_SET_CHILD_SUBREAPER) failed; CPU of daemonized children is not counted")


def reap(timeout=5.0):
    """Waits for every exited (re-parented) child, so its rusage lands in RUSAGE_CHILDREN."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Run:
    def __init__(self, wall, cpu, rc, stdout, stderr):
        self.wall, self.cpu, self.rc, self.stdout, self.stderr = wall, cpu, rc, stdout, stderr


def measure(args, cwd=None, env=None, after=None, ok=(0,)):
    """Runs `args`; `after` (optional) runs when it returned, before CPU is read (e.g. to stop leftover daemons)."""
    cpu0 = children_cpu()
    t0 = time.monotonic()
    p = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if after:
        after()
    reap(timeout=0.5)
    cpu = children_cpu() - cpu0
    run = Run(wall, cpu, p.returncode, p.stdout, p.stderr)
    if ok is not None and p.returncode not in ok:
        sys.exit(f"`{' '.join(args)}` failed ({p.returncode}):\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
    return run


def otto(args, project, ok=(0,)):
    """`otto ARGS --dir PROJECT`, measured."""
    return measure([OTTO] + args + ["--dir", project], env=dict(os.environ, NO_COLOR="1"), ok=ok)


def machine_attributes(project, address):
    """`otto state show ADDRESS` as a dict of attribute name to text."""
    out = otto(["state", "show", address], project).stdout
    attrs = {}
    for line in out.splitlines():
        m = re.match(r'^\s*([a-z_0-9]+)\s*=\s*(.*)$', line)
        if m:
            attrs[m.group(1)] = m.group(2).strip().strip('"')
    return attrs


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def require_root_and_otto():
    if os.geteuid() != 0:
        sys.exit("needs root (local machines are systemd-nspawn containers on a bridge)")
    if not os.access(OTTO, os.X_OK):
        sys.exit(f"{OTTO} not found: build it (`make build`) or set OTTO_BIN")


def delete_bridge(name):
    if subprocess.run(["ip", "link", "show", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
        subprocess.run(["ip", "link", "del", name])


def copy_images(dst_images):
    """The repo's image recipes (images/*.yml), so the shared base layer is cached once under STATE_DIR."""
    os.makedirs(dst_images, exist_ok=True)
    for name in sorted(os.listdir(os.path.join(ROOT, "images"))):
        if name.endswith((".yml", ".yaml")):
            shutil.copy(os.path.join(ROOT, "images", name), dst_images)
