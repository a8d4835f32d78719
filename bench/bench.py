#!/usr/bin/env python3
"""appshare benchmarks against libvirt's own tools, measured side by side in one run.

Run through bench/run.sh (which builds appshare and starts a private libvirtd with
scripts/libvirt-sandbox.sh); this script expects to be inside that sandbox. Standard library only.
Prints one table and writes it as Markdown (OUT/results.md) and JSON (OUT/results.json).
Every figure is a median over repeated runs, and every target is a ratio of two figures
measured in this same run.
"""
import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

MiB = 1 << 20
GiB = 1 << 30
ROOT = "/var/lib/libvirt/images/bench"
BUNDLES = f"{ROOT}/bundles"
SHARED = f"{ROOT}/shared"
CONTEXTS = f"{ROOT}/contexts"
THIN = f"{ROOT}/thin"        # overlays made by the floor and by virt-install, clones by virt-clone
HOOK_LOG = f"{ROOT}/hook.log"
CONF = "/etc/appshare/appshare.conf"
QEMU_D = "/etc/libvirt/hooks/qemu.d"

T0 = time.monotonic()


PARTS = ("verify", "install", "bulk", "hook", "coldfile", "cold", "single")


def log(msg):
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def run(argv, check=True, input_text=None, env=None):
    """Runs argv; returns (wall seconds, CompletedProcess)."""
    t = time.perf_counter()
    p = subprocess.run(argv, input=input_text, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {p.stdout.strip()} {p.stderr.strip()}")
    return wall, p


def spawn_timed(argv, stdin_path=None):
    """posix_spawn + wait4: (wall s, child cpu s, exit status). Output discarded."""
    wall, user, sys_, code = spawn_usage(argv, stdin_path)
    return wall, user + sys_, code


def spawn_usage(argv, stdin_path=None):
    """posix_spawn + wait4: (wall s, user cpu s, system cpu s, exit status), children it waited for included."""
    fa = []
    if stdin_path:
        fa.append((os.POSIX_SPAWN_OPEN, 0, stdin_path, os.O_RDONLY, 0))
    fa.append((os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0))
    fa.append((os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0))
    t = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=fa)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    return wall, ru.ru_utime, ru.ru_stime, os.waitstatus_to_exitcode(status)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def allocated(path):
    """Bytes allocated on disk for a file or a folder (recursively)."""
    if os.path.isfile(path):
        return os.stat(path).st_blocks * 512
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            total += os.lstat(os.path.join(d, f)).st_blocks * 512
    return total


def read_through(path):
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass


def sha256_of(path):
    _, p = run(["openssl", "dgst", "-sha256", "-r", path])
    return p.stdout.split()[0]


def human(n):
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def ms(s):
    return f"{s * 1000:.1f} ms" if s < 10 else f"{s:.1f} s"


# ----------------------------------------------------------------------------- setup


def make_bundle(label, data_bytes, virtual_bytes):
    """A bundle directory whose base has `data_bytes` really written (non-zero pattern)."""
    d = f"{BUNDLES}/{label}"
    img = f"{d}/images/base.qcow2"
    os.makedirs(f"{d}/images", exist_ok=True)
    run(["qemu-img", "create", "-q", "-f", "qcow2", img, str(virtual_bytes)])
    if data_bytes:
        cmds = []  # qemu-io writes at most 2 GiB per request
        for off in range(0, data_bytes, GiB):
            cmds += ["-c", f"write -P 0x61 {off} {min(GiB, data_bytes - off)}"]
        run(["qemu-io", "-f", "qcow2", *cmds, img])
    digest = sha256_of(img)
    size = os.path.getsize(img)
    manifest = f"""<appliance format="1">
  <name>bench-{label}</name>
  <version>1.0</version>
  <description>appshare benchmark base, {human(data_bytes)} of data</description>
  <arch>x86_64</arch>
  <memory unit="MiB">32</memory>
  <vcpus>1</vcpus>
  <base>
    <image path="images/base.qcow2" format="qcow2">
      <sha256>{digest}</sha256>
      <virtual-size unit="B">{virtual_bytes}</virtual-size>
      <size>{size}</size>
    </image>
    <sources>
      <file path="{img}"/>
    </sources>
  </base>
  <network type="none"/>
  <console type="none"/>
</appliance>
"""
    with open(f"{d}/appliance.xml", "w") as f:
        f.write(manifest)
    return {"label": label, "dir": d, "image": img, "sha256": digest, "data": data_bytes,
            "virtual": virtual_bytes, "file_bytes": size, "shared": f"{SHARED}/{digest}.qcow2"}


def plain_domain_xml(name, disk, backing=None):
    backing_xml = ""
    if backing:
        backing_xml = (f"<backingStore type='file'><format type='qcow2'/><source file='{backing}'/>"
                       f"<backingStore/></backingStore>")
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>{backing_xml}
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
"""


class Bench:
    def __init__(self, args):
        self.a = args
        self.appshare = os.path.join(args.build, "bin", "appshare")
        self.hook = os.path.join(args.build, "libexec", "appshare", "appshare-hook")
        self.results = {}
        self.counter = 0
        self.env = dict(os.environ, APPSHARE_HOOK_BIN=self.hook, APPSHARE_NO_PROGRESS="1")

    def uniq(self, prefix):
        self.counter += 1
        return f"{prefix}{self.counter:04d}"

    def setup(self):
        for d in (BUNDLES, SHARED, CONTEXTS, THIN):
            os.makedirs(d, exist_ok=True)
        with open(CONF, "w") as f:
            f.write(f'shared_root = "{SHARED}"\ncontext_root = "{CONTEXTS}"\nlocal_root = "{ROOT}/local"\n'
                    f'lock_wait_seconds = 300\nvirt_type = "qemu"\nallowed_source_dirs = ["{BUNDLES}"]\n'
                    f'log = "{HOOK_LOG}"\n')
        run([self.appshare, "hook", "register", "--reload"], env=self.env)
        time.sleep(0.5)
        self.wait_daemon()
        # The no-op hook of 3b, and a no-op "hook" to time a spawn of a shell script directly.
        self.noop = f"{ROOT}/noop-hook.sh"
        with open(self.noop, "w") as f:
            f.write("#!/bin/sh\nexec cat >/dev/null\n")
        os.chmod(self.noop, 0o755)

    def wait_daemon(self):
        for _ in range(100):
            if run(["virsh", "-q", "version"], check=False)[1].returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("the private libvirtd does not answer")

    def install(self, bundle, name, extra=(), build=None, config=None):
        appshare = os.path.join(build, "bin", "appshare") if build else self.appshare
        wall, _ = run([appshare, "install", bundle["dir"], "--name", name, "--virt-type", "qemu",
                       "--memory", "32M", *(["--config", config] if config else []), *extra], env=self.env)
        return wall

    # ------------------------------------------------------------------------- 1 + 2: installs

    def install_methods(self, b, rounds, clone_rounds):
        """Interleaved rounds of the four ways to make an instance over base `b`."""
        tmpl = f"tmpl-{b['label']}"
        run(["virsh", "define", "/dev/stdin"], input_text=plain_domain_xml(tmpl, b["image"]))
        times = {k: [] for k in ("appshare", "floor", "virt-install", "virt-clone")}
        disk = {k: [] for k in times}
        for r in range(rounds):
            # appshare install (base already in the store)
            name = self.uniq("as")
            times["appshare"].append(self.install(b, name))
            disk["appshare"].append(allocated(f"{CONTEXTS}/{name}"))
            # the floor: qemu-img create -b + virsh define
            wall, ovl = self.floor_install(b, self.uniq("fl"))
            times["floor"].append(wall)
            disk["floor"].append(allocated(ovl))
            # virt-install --import with backing_store (it creates the overlay through libvirt's
            # storage API; --print-xml defines nothing, so its XML goes to virsh define)
            name = self.uniq("vi")
            ovl = f"{THIN}/{name}.qcow2"
            t = time.perf_counter()
            _, p = run(["virt-install", "--import", "--name", name, "--memory", "32", "--vcpus", "1",
                        "--virt-type", "qemu", "--osinfo", "detect=off,require=off", "--disk",
                        f"path={ovl},format=qcow2,backing_store={b['shared']},backing_format=qcow2,bus=virtio,size={b['virtual'] / GiB:g}",
                        "--network", "none", "--graphics", "none", "--noautoconsole", "--print-xml"])
            run(["virsh", "-q", "define", "/dev/stdin"], input_text=p.stdout)
            times["virt-install"].append(time.perf_counter() - t)
            disk["virt-install"].append(allocated(ovl))
            # virt-clone: a full copy of the template's disk
            if r < clone_rounds:
                name = self.uniq("vc")
                clone = f"{THIN}/{name}.qcow2"
                t = time.perf_counter()
                run(["virt-clone", "--original", tmpl, "--name", name, "--file", clone])
                times["virt-clone"].append(time.perf_counter() - t)
                disk["virt-clone"].append(allocated(clone))
                run(["virsh", "-q", "undefine", name])
                os.unlink(clone)
        return {k: {"median_s": med(v), "runs": len(v), "samples_s": v,
                    "disk_bytes_median": med(disk[k])} for k, v in times.items()}

    def bench_installs(self):
        out = {}
        for b in self.bundles:
            # Put the base on shared storage once (untimed: the comparison is with the base present).
            t = self.install(b, self.uniq("warm"))
            log(f"base {b['label']} put on shared storage by a first install in {ms(t)}")
            big = b["data"] >= 4 * GiB
            rounds = self.a.rounds
            clone_rounds = self.a.clone_rounds_big if big else self.a.rounds
            out[b["label"]] = dict(self.install_methods(b, rounds, clone_rounds), data_bytes=b["data"])
            log(f"installs over {b['label']}: " + ", ".join(
                f"{k} {ms(v['median_s'])}" for k, v in out[b["label"]].items() if isinstance(v, dict)))
        self.results["install"] = out

    def floor_install(self, b, name):
        """One hand-made install (its XML written beforehand, untimed): (seconds, overlay)."""
        ovl = f"{THIN}/{name}.qcow2"
        xml = f"{THIN}/{name}.xml"
        with open(xml, "w") as f:
            f.write(plain_domain_xml(name, ovl, b["shared"]))
        t = time.perf_counter()
        run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", b["shared"], ovl])
        run(["virsh", "-q", "define", xml])
        return time.perf_counter() - t, ovl

    def bench_single(self, b):
        """One install against the floor, many interleaved rounds (the order swapped each round),
        over a base already on shared storage: medians, spread and the load average around it.
        A third side installs with the contexts pool turned off (context_pool = ""): the pool's
        refresh costs libvirtd time per instance on the host, so --single-population N installs
        N instances (one command) before the rounds to show that."""
        if self.a.single_population:
            run([self.appshare, "install", b["dir"], "--count", str(self.a.single_population), "--name-prefix",
                 self.uniq("pop") + "-", "--virt-type", "qemu", "--memory", "32M"], env=self.env)
        nopool = f"{ROOT}/appshare-nopool.conf"
        with open(CONF) as src, open(nopool, "w") as f:
            f.write(src.read() + 'context_pool = ""\n')
        population = len(run(["virsh", "list", "--all", "--name"])[1].stdout.split())
        sides = ["appshare", "floor", "nopool"] + (["other"] if self.a.single_other else [])
        times = {k: [] for k in sides}
        cpu = {k: [] for k in sides}    # user + system time of the processes each side ran
        waits = {k: [] for k in sides}  # their voluntary context switches: times they blocked
        load_before = os.getloadavg()
        for r in range(self.a.single_rounds):
            for side in sides[r % len(sides):] + sides[:r % len(sides)]:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                if side == "floor":
                    times[side].append(self.floor_install(b, self.uniq("sf"))[0])
                else:
                    build = self.a.single_other if side == "other" else None
                    times[side].append(self.install(b, self.uniq("si"), build=build,
                                                    config=nopool if side == "nopool" else None))
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[side].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                waits[side].append(after.ru_nvcsw - before.ru_nvcsw)
        ratios = [a / f for a, f in zip(times["appshare"], times["floor"])]
        self.results["single"] = {
            "rounds": self.a.single_rounds, "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
            "ratio_of_medians": med(times["appshare"]) / med(times["floor"]), "ratio_per_round_median": med(ratios),
            **{f"{k}_{q}_s": f(v) for k, v in times.items()
               for q, f in (("p10", lambda x: pct(x, 10)), ("median", med), ("p90", lambda x: pct(x, 90)))},
            **{f"{k}_cpu_median_s": med(v) for k, v in cpu.items()},
            **{f"{k}_waits_median": med(v) for k, v in waits.items()},
            "other_build": self.a.single_other, "domains_before": population,
            "samples_s": times, "cpu_samples_s": cpu}
        s = self.results["single"]
        log(f"single install, {s['rounds']} rounds: appshare {ms(s['appshare_median_s'])} (cpu "
            f"{ms(s['appshare_cpu_median_s'])}), floor {ms(s['floor_median_s'])} (cpu {ms(s['floor_cpu_median_s'])}), "
            f"{s['ratio_of_medians']:.2f}x")

    def floor_installs(self, b, n):
        """n hand-made installs: qemu-img create -b + virsh define each; returns (seconds, overlays)."""
        names = [self.uniq("bfl") for _ in range(n)]
        for name in names:
            with open(f"{THIN}/{name}.xml", "w") as f:
                f.write(plain_domain_xml(name, f"{THIN}/{name}.qcow2", b["shared"]))
        t = time.perf_counter()
        for name in names:
            run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", b["shared"], f"{THIN}/{name}.qcow2"])
            run(["virsh", "-q", "define", f"{THIN}/{name}.xml"])
        return time.perf_counter() - t, [f"{THIN}/{name}.qcow2" for name in names]

    def bench_bulk(self, b):
        n = self.a.bulk
        # One command for all n (--count), then the n floor installs, then n separate commands.
        prefix = self.uniq("bulk") + "-"
        t = time.perf_counter()
        run([self.appshare, "install", b["dir"], "--count", str(n), "--name-prefix", prefix, "--virt-type", "qemu",
             "--memory", "32M"], env=self.env)
        one_command = time.perf_counter() - t
        bytes_ = sum(allocated(f"{CONTEXTS}/{prefix}{i}") for i in range(1, n + 1))
        floor_total, ovls = self.floor_installs(b, n)
        t = time.perf_counter()
        for _ in range(n):
            self.install(b, self.uniq("bulk"))
        separate = time.perf_counter() - t
        self.results["bulk"] = {"instances": n, "appshare_one_command_s": one_command, "appshare_total_s": separate,
                                "appshare_total_bytes": bytes_, "floor_total_s": floor_total,
                                "floor_total_bytes": sum(allocated(o) for o in ovls),
                                "full_copies_bytes": n * b["file_bytes"]}
        log(f"bulk {n}: appshare one command {one_command:.2f} s, {n} commands {separate:.1f} s, "
            f"floor {floor_total:.1f} s")

    # ------------------------------------------------------------------------- 4c: cold load, file level

    def drop_caches(self):
        run(["sync"])
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")

    def bench_cold_file(self):
        """The hook's load of a base (invoked directly, as libvirt does) against cp + sync of the
        same file and openssl dgst -sha256 of it, interleaved, from the page cache and with the
        caches dropped before each side."""
        out = {}
        for b in self.bundles:
            if b["data"] < GiB:
                continue
            name = self.uniq("cf")
            self.install(b, name)
            xml = f"{ROOT}/{name}.xml"
            with open(xml, "w") as f:
                f.write(run(["virsh", "dumpxml", name])[1].stdout)
            dst = f"{SHARED}/cp-test"
            res = {}
            for cache in ("cached", "uncached"):
                t = {"appshare": [], "cp+sync": [], "openssl": []}
                cpu = {k: [] for k in t}  # (user s, system s) per run
                load = [os.getloadavg()[0]]
                for r in range(self.a.load_rounds):
                    sides = list(t) if r % 2 == 0 else list(reversed(list(t)))
                    for side in sides:
                        if side == "appshare":
                            self.remove_base(b)
                        elif os.path.exists(dst):
                            os.unlink(dst)
                        if cache == "uncached":
                            self.drop_caches()
                        else:
                            read_through(b["image"])  # the source in the page cache
                            run(["sync"])             # and nothing of the previous side dirty
                        if side == "appshare":
                            wall, user, sys_, rc = spawn_usage([self.hook, name, "prepare", "begin", "-"], xml)
                            if rc != 0 or not os.path.exists(b["shared"]):
                                raise RuntimeError("the hook invoked directly did not load the base")
                        elif side == "cp+sync":
                            w1, u1, s1, _ = spawn_usage(["/bin/cp", b["image"], dst])
                            w2, u2, s2, _ = spawn_usage(["/bin/sync", dst])
                            wall, user, sys_ = w1 + w2, u1 + u2, s1 + s2
                        else:
                            wall, user, sys_, _ = spawn_usage(["/usr/bin/openssl", "dgst", "-sha256", b["image"]])
                        t[side].append(wall)
                        cpu[side].append((user, sys_))
                load.append(os.getloadavg()[0])
                if os.path.exists(dst):
                    os.unlink(dst)
                m = {k: med(v) for k, v in t.items()}
                ref = max(m["cp+sync"], m["openssl"])
                res[cache] = {"appshare_median_s": m["appshare"], "cp_sync_median_s": m["cp+sync"],
                              "openssl_median_s": m["openssl"], "ratio": m["appshare"] / ref, "samples_s": t,
                              "cpu_user_system_s": cpu,
                              "cpu_median_s": {k: [med([u for u, _ in v]), med([y for _, y in v])] for k, v in cpu.items()},
                              "load_average_1min": load}
                log(f"cold load {b['label']} {cache}: appshare {ms(m['appshare'])}, cp+sync {ms(m['cp+sync'])}, "
                    f"openssl {ms(m['openssl'])}: {m['appshare'] / ref:.2f}x (load average {load[0]:.1f} → {load[-1]:.1f})")
            out[b["label"]] = res
        self.results["cold_file"] = out

    # ------------------------------------------------------------------------- 3: hook overhead

    def bench_hook_direct(self, b):
        name = self.uniq("hk")
        self.install(b, name)
        xml_as = f"{ROOT}/{name}.xml"
        with open(xml_as, "w") as f:
            f.write(run(["virsh", "dumpxml", name])[1].stdout)
        plain = self.uniq("plain")
        xml_plain = f"{ROOT}/{plain}.xml"
        with open(xml_plain, "w") as f:
            f.write(plain_domain_xml(plain, f"{THIN}/{plain}.qcow2", b["shared"]))
        cases = {
            "true (spawn floor)": (["/bin/true"], None),
            "no-op hook script": ([self.noop, plain, "prepare", "begin", "-"], xml_plain),
            "appshare prepare, warm base": ([self.hook, name, "prepare", "begin", "-"], xml_as),
            "pass-through, non-appshare prepare": ([self.hook, plain, "prepare", "begin", "-"], xml_plain),
            "pass-through, unhandled op": ([self.hook, name, "stopped", "end", "-"], xml_as),
        }
        samples = {k: ([], []) for k in cases}
        for _ in range(self.a.hook_runs):  # interleaved
            for k, (argv, stdin) in cases.items():
                wall, cpu, rc = spawn_timed(argv, stdin)
                if rc != 0:
                    raise RuntimeError(f"{' '.join(argv)} exited {rc}")
                samples[k][0].append(wall)
                samples[k][1].append(cpu)
        out = {k: {"wall_median_s": med(w), "cpu_median_s": med(c), "wall_p90_s": pct(w, 90), "runs": len(w)}
               for k, (w, c) in samples.items()}
        # Why pass-through costs what it costs: the shared libraries the hook loads.
        ldd = run(["ldd", self.hook])[1].stdout
        libs = [ln.split()[0] for ln in ldd.splitlines() if "=>" in ln or ln.strip().startswith("/")]
        _, p = run([self.hook, name, "stopped", "end", "-"], input_text="",
                   env=dict(os.environ, LD_DEBUG="statistics"))
        m = re.search(r"total startup time in dynamic loader:\s*(\d+) cycles", p.stderr)
        loader = int(m.group(1)) / (cpu_mhz() * 1e6) if m else None
        link = self.link_costs()
        self.results["hook_direct"] = {"cases": out, "shared_libraries": len(libs), "libraries": libs,
                                       "hook_ld_startup_s": loader, "link_costs": link}
        log("hook direct: " + ", ".join(f"{k} {ms(v['wall_median_s'])}" for k, v in out.items()))
        return name

    def link_costs(self):
        """Spawn time of an empty C program linked (--no-as-needed) with each library the hook pulls in."""
        d = tempfile.mkdtemp(dir=ROOT)
        with open(f"{d}/m.c", "w") as f:
            f.write("int main(void) { return 0; }\n")
        variants = {"none": [], "libcurl": ["-lcurl"], "libarchive": ["-larchive"], "libxml2": ["-lxml2"],
                    "libcrypto": ["-lcrypto"], "all four": ["-lcurl", "-larchive", "-lxml2", "-lcrypto"]}
        bins = {}
        for k, libs in variants.items():
            out = f"{d}/m-{len(bins)}"
            if run(["cc", "-O2", f"{d}/m.c", "-o", out, "-Wl,--no-as-needed", *libs], check=False)[1].returncode == 0:
                bins[k] = out
        samples = {k: [] for k in bins}
        for _ in range(self.a.hook_runs // 2):
            for k, b in bins.items():
                samples[k].append(spawn_timed([b])[0])
        return {k: med(v) for k, v in samples.items()}

    def set_hook(self, target):
        link = f"{QEMU_D}/appshare"
        tmp = f"{QEMU_D}/.appshare.tmp"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(target, tmp)
        os.rename(tmp, link)

    def hook_log_count(self, word):
        try:
            with open(HOOK_LOG) as f:
                return sum(1 for ln in f if word in ln)
        except FileNotFoundError:
            return 0

    def start(self, name):
        wall, _ = run(["virsh", "-q", "start", name])
        return wall

    def destroy(self, *names):
        for n in names:
            run(["virsh", "-q", "destroy", n], check=False)

    def bench_start_overhead(self, name):
        samples = {"appshare hook": [], "no-op hook": []}
        self.start(name)  # one warm-up start (QEMU binary and firmware in the page cache)
        self.destroy(name)
        ran = 0
        for r in range(self.a.start_rounds):
            order = ["appshare hook", "no-op hook"] if r % 2 == 0 else ["no-op hook", "appshare hook"]
            for which in order:
                self.set_hook(self.hook if which == "appshare hook" else self.noop)
                before = self.hook_log_count(f"started on")
                samples[which].append(self.start(name))
                self.destroy(name)
                if which == "appshare hook" and self.hook_log_count("started on") > before:
                    ran += 1
        self.set_hook(self.hook)
        a, n = med(samples["appshare hook"]), med(samples["no-op hook"])
        self.results["virsh_start"] = {"rounds": self.a.start_rounds, "appshare_median_s": a, "noop_median_s": n,
                                       "ratio": a / n, "appshare_hook_ran": ran,
                                       "samples_s": samples}
        log(f"virsh start: appshare {ms(a)}, no-op {ms(n)} ({a / n:.3f}x), hook ran in {ran} rounds")

    # ------------------------------------------------------------------------- 4 + 5: loads, locks

    def timed_alone(self, b):
        src = b["image"]
        dst = f"{ROOT}/copy-test"
        cp, cps, dg = [], [], []
        for _ in range(self.a.load_rounds):
            if os.path.exists(dst):
                os.unlink(dst)
            cp.append(run(["cp", src, dst])[0])
            os.unlink(dst)
            t = time.perf_counter()
            run(["cp", src, dst])
            run(["sync", dst])
            cps.append(time.perf_counter() - t)
            os.unlink(dst)
            dg.append(run(["openssl", "dgst", "-sha256", src])[0])
        return med(cp), med(cps), med(dg)

    def parallel_starts(self, names):
        with ThreadPoolExecutor(max_workers=len(names)) as ex:
            t = time.perf_counter()
            lat = list(ex.map(self.start, names))
            total = time.perf_counter() - t
        return total, lat

    def remove_base(self, b):
        for suffix in ("", ".verified"):
            if os.path.exists(b["shared"] + suffix):
                os.unlink(b["shared"] + suffix)

    def bench_cold_load(self, b):
        ns = self.a.cold_n
        names = [self.uniq("cold") for _ in range(max(ns))]
        for n in names:
            self.install(b, n)
        self.set_hook(self.hook)
        cp, cps, dg = self.timed_alone(b)
        # The hook's own load, invoked directly as libvirt does (no QEMU start in the figure).
        xml = f"{ROOT}/{names[0]}.xml"
        with open(xml, "w") as f:
            f.write(run(["virsh", "dumpxml", names[0]])[1].stdout)
        direct = []
        for _ in range(self.a.load_rounds):
            self.remove_base(b)
            wall, _, rc = spawn_timed([self.hook, names[0], "prepare", "begin", "-"], xml)
            if rc != 0 or not os.path.exists(b["shared"]):
                raise RuntimeError("the hook invoked directly did not load the base")
            direct.append(wall)
        out = {"cp_median_s": cp, "cp_fsync_median_s": cps, "openssl_sha256_median_s": dg,
               "hook_direct_load_median_s": med(direct), "by_n": {}}
        for n in ns:
            cold, warm, copies, fallbacks = [], [], [], []
            for _ in range(self.a.load_rounds):
                self.remove_base(b)
                loaded0 = self.hook_log_count("loaded ")
                fb0 = self.hook_log_count("independent")
                cold.append(self.parallel_starts(names[:n])[0])
                copies.append(self.hook_log_count("loaded ") - loaded0)
                fallbacks.append(self.hook_log_count("independent") - fb0)
                if not os.path.exists(b["shared"]):
                    raise RuntimeError("the base is not back on shared storage after a cold start")
                self.destroy(*names[:n])
                warm.append(self.parallel_starts(names[:n])[0])
                self.destroy(*names[:n])
            c, w = med(cold), med(warm)
            out["by_n"][str(n)] = {"cold_median_s": c, "warm_median_s": w, "load_share_s": c - w,
                                   "cold_samples_s": cold, "warm_samples_s": warm, "copies": copies,
                                   "fallbacks": fallbacks}
            log(f"cold load N={n}: cold {ms(c)}, warm {ms(w)} (cp {ms(cp)}, openssl {ms(dg)}), copies {copies}")
        if sha256_of(b["shared"]) != b["sha256"]:
            raise RuntimeError("the reloaded base has the wrong digest")
        self.results["cold_load"] = out
        # 5: lock contention: 16 parallel starts on the warm base, appshare's hook against the
        # no-op hook (both pay the same QEMU start-up on 2 cores), interleaved rounds.
        n = max(ns)
        lat = {"appshare hook": [], "no-op hook": []}
        for r in range(self.a.load_rounds):
            order = list(lat) if r % 2 == 0 else list(reversed(list(lat)))
            for which in order:
                self.set_hook(self.hook if which == "appshare hook" else self.noop)
                lat[which] += self.parallel_starts(names[:n])[1]
                self.destroy(*names[:n])
        self.set_hook(self.hook)
        self.results["contention"] = {"parallel": n, "samples": len(lat["appshare hook"]),
                                      **{f"{w} {q}": pct(v, p) for w, v in lat.items()
                                         for q, p in (("p50_s", 50), ("p90_s", 90), ("max_s", 100))},
                                      "samples_s": lat}
        a, o = lat["appshare hook"], lat["no-op hook"]
        log(f"contention: appshare p50 {ms(pct(a, 50))} p90 {ms(pct(a, 90))} max {ms(max(a))}; "
            f"no-op p50 {ms(pct(o, 50))} p90 {ms(pct(o, 90))} max {ms(max(o))}")

    # ------------------------------------------------------------------------- 6: verify

    def bench_verify(self, b):
        v, o = [], []
        for _ in range(self.a.load_rounds):
            v.append(run([self.appshare, "verify", b["dir"]], env=self.env)[0])
            o.append(run(["openssl", "dgst", "-sha256", b["image"]])[0])
        self.results["verify"] = {"bytes": b["file_bytes"], "appshare_median_s": med(v), "openssl_median_s": med(o),
                                  "ratio": med(v) / med(o)}
        log(f"verify: appshare {ms(med(v))}, openssl {ms(med(o))}")

    # ------------------------------------------------------------------------- all

    def run_all(self):
        self.setup()
        sizes = [int(s) for s in self.a.sizes_mib.split(",")]
        self.bundles = []
        for s in sizes:
            label = f"{s}m" if s < 1024 else f"{s // 1024}g"
            virtual = max(4 * GiB, 2 * s * MiB)
            self.bundles.append(make_bundle(label, s * MiB, virtual))
            log(f"bundle {label}: {human(s * MiB)} of data in a {human(virtual)} image")
        main = min(self.bundles, key=lambda b: abs(b["data"] - self.a.main_mib * MiB))
        self.main = main
        parts = self.a.parts
        if "verify" in parts:
            self.bench_verify(main)
        if "install" in parts:
            self.bench_installs()
        elif "bulk" in parts or "hook" in parts or "single" in parts:
            self.install(main, self.uniq("warm"))  # the base on shared storage
        if "bulk" in parts:
            self.bench_bulk(main)
        if "single" in parts:
            self.bench_single(main)
        if "hook" in parts:
            hk = self.bench_hook_direct(main)
            self.bench_start_overhead(hk)
        if "coldfile" in parts:
            self.bench_cold_file()
        if "cold" in parts:
            self.bench_cold_load(main)


# ----------------------------------------------------------------------------- report


def cpu_mhz():
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("cpu MHz"):
                return float(ln.split(":", 1)[1])
    return 1000.0


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) * 1024
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    lv = subprocess.run(["libvirtd", "--version"], capture_output=True, text=True).stdout.strip()
    vi = subprocess.run(["virt-install", "--version"], capture_output=True, text=True).stdout.strip()
    fs = subprocess.run(["findmnt", "-n", "-o", "FSTYPE,SOURCE", "--target", ROOT], capture_output=True,
                        text=True).stdout.strip()
    ssl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": human(mem), "kernel": platform.release(),
            "qemu": qemu, "libvirt": lv, "virtinst": vi, "filesystem": fs, "openssl": ssl}


def report(bench, args, elapsed):
    r = bench.results
    main = bench.main["label"]
    rows = []   # (section, measure, appshare, comparison, ratio, target, met)

    def row(section, what, a, b, ratio, target, met):
        rows.append({"section": section, "measure": what, "appshare": a, "compared_with": b,
                     "ratio": ratio, "target": target, "met": met})

    if "install" in r:
        inst = r["install"]
        m = inst[main]
        asm = m["appshare"]["median_s"]
        for other in ("floor", "virt-install", "virt-clone"):
            o = m[other]["median_s"]
            if other == "virt-clone":
                row("1 install", f"latency at {main}, vs {other}", ms(asm), ms(o), f"{o / asm:.0f}x faster",
                    "≥ 50x faster", o / asm >= 50)
            else:
                row("1 install", f"latency at {main}, vs {other}", ms(asm), ms(o), f"{asm / o:.2f}x",
                    "≤ 1.0x" if other == "floor" else "", (asm / o <= 1.0) if other == "floor" else None)
        for other in ("floor", "virt-install", "virt-clone"):
            row("1 install", f"disk per instance, vs {other}", human(m["appshare"]["disk_bytes_median"]),
                human(m[other]["disk_bytes_median"]),
                f"{m[other]['disk_bytes_median'] / max(1, m['appshare']['disk_bytes_median']):.2f}x less",
                "≤ 256 KiB" if other == "floor" else "",
                (m["appshare"]["disk_bytes_median"] <= 256 * 1024) if other == "floor" else None)
    if "bulk" in r:
        bl = r["bulk"]
        one = bl["appshare_one_command_s"]
        row("1 install", f"bulk {bl['instances']} instances in one command (--count), vs {bl['instances']} floor installs",
            f"{one:.2f} s", f"{bl['floor_total_s']:.1f} s", f"{one / bl['floor_total_s']:.2f}x", "≤ 0.5x and < 2 s",
            one / bl["floor_total_s"] <= 0.5 and one < 2)
        row("1 install", f"bulk {bl['instances']} instances, one command each, vs floor", f"{bl['appshare_total_s']:.1f} s",
            f"{bl['floor_total_s']:.1f} s", f"{bl['appshare_total_s'] / bl['floor_total_s']:.2f}x", "", None)
        row("1 install", f"bulk {bl['instances']} instances: disk, vs floor / full copies",
            human(bl["appshare_total_bytes"]), f"{human(bl['floor_total_bytes'])} / {human(bl['full_copies_bytes'])}",
            f"{bl['full_copies_bytes'] / max(1, bl['appshare_total_bytes']):.0f}x less than copies", "", None)
    if "single" in r:
        sg = r["single"]
        if sg["other_build"]:
            row("1 install", f"single install vs the same install by another build ({sg['other_build']}), "
                f"same rounds", ms(sg["appshare_median_s"]), ms(sg["other_median_s"]),
                f"{sg['appshare_median_s'] / sg['other_median_s']:.2f}x", "", None)
        spread = lambda k: (f"{ms(sg[k + '_median_s'])} (p10 {ms(sg[k + '_p10_s'])}, p90 {ms(sg[k + '_p90_s'])}; "
                            f"cpu {ms(sg[k + '_cpu_median_s'])}, {sg[k + '_waits_median']:.0f} waits)")
        row("1 install", f"single install vs floor, {sg['rounds']} interleaved rounds, {sg['domains_before']} domains "
            f"defined before (load average {sg['loadavg_before'][0]:.1f} → {sg['loadavg_after'][0]:.1f}; per-round "
            f"ratio median {sg['ratio_per_round_median']:.2f}x)", spread("appshare"), spread("floor"),
            f"{sg['ratio_of_medians']:.2f}x", "≤ 1.0x", sg["ratio_of_medians"] <= 1.0)
        row("1 install", "the same rounds, appshare with the contexts pool off (context_pool = \"\": no refresh of "
            "that pool, whose cost grows with the instances on the host)", spread("nopool"), spread("floor"),
            f"{sg['nopool_median_s'] / sg['floor_median_s']:.2f}x", "", None)
    if "install" in r:
        labels = [b["label"] for b in bench.bundles]
        small, large = labels[0], labels[-1]
        for who in ("appshare", "floor", "virt-clone"):
            a, z = inst[small][who]["median_s"], inst[large][who]["median_s"]
            row("2 size", f"{who} latency {large} / {small}", ms(z), ms(a), f"{z / a:.2f}x",
                "≤ 1.2x" if who == "appshare" else "", (z / a <= 1.2) if who == "appshare" else None)
    if "hook_direct" in r:
        hd = r["hook_direct"]["cases"]
        for k, target, limit in (("appshare prepare, warm base", "≤ 5 ms", 0.005),
                                 ("pass-through, non-appshare prepare", "≤ 2 ms", 0.002),
                                 ("pass-through, unhandled op", "≤ 2 ms", 0.002)):
            row("3a hook direct", f"{k} (wall; cpu {ms(hd[k]['cpu_median_s'])})", ms(hd[k]["wall_median_s"]),
                f"no-op script {ms(hd['no-op hook script']['wall_median_s'])}, /bin/true "
                f"{ms(hd['true (spawn floor)']['wall_median_s'])}",
                f"{hd[k]['wall_median_s'] / hd['no-op hook script']['wall_median_s']:.2f}x script", target,
                hd[k]["wall_median_s"] <= limit)
        vs = r["virsh_start"]
        row("3b virsh start", f"appshare hook vs no-op hook, {vs['rounds']} interleaved rounds",
            ms(vs["appshare_median_s"]), ms(vs["noop_median_s"]), f"{vs['ratio']:.3f}x", "≤ 1.05x", vs["ratio"] <= 1.05)
    for label, res in r.get("cold_file", {}).items():
        for cache, c in res.items():
            how = "from page cache" if cache == "cached" else "caches dropped before each side"
            cm = c.get("cpu_median_s", {})
            cpu = " (user/system CPU: " + ", ".join(f"{k} {u:.2f}/{y:.2f} s" for k, (u, y) in cm.items()) + ")" if cm else ""
            la = c.get("load_average_1min")
            la = f", load average {la[0]:.1f}–{la[-1]:.1f}" if la else ""
            row("4c cold load", f"{label} base, {how}: the hook's load invoked directly vs max(cp + sync, openssl dgst){cpu}{la}",
                ms(c["appshare_median_s"]), f"cp+sync {ms(c['cp_sync_median_s'])}, openssl {ms(c['openssl_median_s'])}",
                f"{c['ratio']:.2f}x", "≤ 1.2x", c["ratio"] <= 1.2)
    if "cold_load" in r:
        cl = r["cold_load"]
        ref = max(cl["cp_median_s"], cl["openssl_sha256_median_s"])
        alone = (f"max(cp {ms(cl['cp_median_s'])}, openssl {ms(cl['openssl_sha256_median_s'])}); "
                 f"cp+fsync {ms(cl['cp_fsync_median_s'])}")
        row("4 cold load", "the hook's load, invoked directly (copy + hash + fsync + checks)",
            ms(cl["hook_direct_load_median_s"]), alone, f"{cl['hook_direct_load_median_s'] / ref:.2f}x", "≤ 1.2x",
            cl["hook_direct_load_median_s"] / ref <= 1.2)
        for n, v in cl["by_n"].items():
            one = all(c == 1 for c in v["copies"])
            row("4 cold load", f"N={n} parallel virsh starts, base absent, minus the same starts warm "
                f"({ms(v['cold_median_s'])} − {ms(v['warm_median_s'])}; copies {v['copies']}, fallbacks {v['fallbacks']})",
                ms(v["load_share_s"]), alone, f"{v['load_share_s'] / ref:.2f}x", "≤ 1.2x, 1 copy",
                v["load_share_s"] / ref <= 1.2 and one)
        ct = r["contention"]
        row("5 contention", f"{ct['parallel']} parallel starts, warm base, {ct['samples']} starts each: p50 / p90 / max",
            f"{ms(ct['appshare hook p50_s'])} / {ms(ct['appshare hook p90_s'])} / {ms(ct['appshare hook max_s'])}",
            f"no-op hook {ms(ct['no-op hook p50_s'])} / {ms(ct['no-op hook p90_s'])} / {ms(ct['no-op hook max_s'])}",
            f"{ct['appshare hook p50_s'] / ct['no-op hook p50_s']:.2f}x (p50)", "", None)
    if "verify" in r:
        v = r["verify"]
        row("6 verify", f"appshare verify of {human(v['bytes'])} base vs openssl dgst -sha256", ms(v["appshare_median_s"]),
            ms(v["openssl_median_s"]), f"{v['ratio']:.2f}x", "≤ 1.2x", v["ratio"] <= 1.2)

    mach = machine()
    head = ["section", "measure", "appshare", "compared with", "ratio", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for x in rows:
        met = "" if x["met"] is None else ("yes" if x["met"] else "**NO**")
        lines.append("| " + " | ".join([x["section"], x["measure"], x["appshare"], x["compared_with"], x["ratio"],
                                         x["target"], met]) + " |")
    sizes = ", ".join(f"{b['label']} ({human(b['data'])} data, {human(b['virtual'])} virtual)" for b in bench.bundles)
    md = ["# appshare benchmark results", "",
          f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {elapsed:.0f} s, options: "
          f"`{' '.join(sys.argv[1:])}`", "",
          f"Machine: {mach['cpu']}, {mach['cores']} cores, {mach['memory']} RAM, kernel {mach['kernel']}, "
          f"{mach['filesystem']}; {mach['qemu']}; {mach['libvirt']}; virtinst {mach['virtinst']}; {mach['openssl']}.",
          "", f"Bases: {sizes}. Medians of {args.rounds} interleaved rounds per install method "
          f"(virt-clone at ≥ 4 GiB: {args.clone_rounds_big}), {args.hook_runs} direct hook runs, "
          f"{args.start_rounds} interleaved virsh start rounds, {args.load_rounds} cold-load rounds per N.", ""]
    md += lines
    hk = r.get("hook_direct")
    md += [] if not hk else ["", f"The hook binary loads {hk['shared_libraries']} shared libraries (ldd); the dynamic loader "
           f"reports {ms(hk['hook_ld_startup_s']) if hk['hook_ld_startup_s'] else '?'} of startup "
           "(LD_DEBUG=statistics) for one pass-through run. Spawn time of an empty C program linked with: " +
           ", ".join(f"{k} {ms(v)}" for k, v in hk["link_costs"].items()) + ".", ""]
    text = "\n".join(md) + "\n"
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"machine": mach, "elapsed_s": elapsed, "argv": sys.argv[1:], "rows": rows, "raw": r,
                   "bases": [{k: b[k] for k in ("label", "data", "virtual", "file_bytes", "sha256")}
                             for b in bench.bundles]}, f, indent=2)
    print(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="build directory with bin/appshare and libexec/appshare/appshare-hook")
    ap.add_argument("--out", required=True, help="folder for results.md and results.json")
    ap.add_argument("--sizes-mib", default="256,1024,4096", help="data written into each test base, MiB")
    ap.add_argument("--main-mib", type=int, default=1024, help="the base used for 1, 3, 4, 5, 6 (closest size)")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved install rounds per base size")
    ap.add_argument("--clone-rounds-big", type=int, default=3, help="virt-clone rounds for bases of ≥ 4 GiB")
    ap.add_argument("--bulk", type=int, default=100, help="instances in the bulk install")
    ap.add_argument("--single-rounds", type=int, default=41, help="interleaved rounds of the single install part")
    ap.add_argument("--single-other", help="another build directory whose appshare joins the single install rounds "
                    "(for example the one before a change)")
    ap.add_argument("--single-population", type=int, default=0,
                    help="instances installed (one command) before the single install rounds")
    ap.add_argument("--hook-runs", type=int, default=200, help="direct hook runs per case")
    ap.add_argument("--start-rounds", type=int, default=20, help="interleaved virsh start rounds (each: both hooks)")
    ap.add_argument("--load-rounds", type=int, default=3, help="rounds of cold load per N, of verify, of contention")
    ap.add_argument("--cold-n", default="1,4,16", help="parallel starts for the cold load")
    ap.add_argument("--parts", default=",".join(PARTS),
                    help="what to run, comma-separated, of: " + ", ".join(PARTS) + " (default: all)")
    ap.add_argument("--quick", action="store_true", help="small and few: a smoke run of every part in ~2 minutes")
    args = ap.parse_args()
    if args.quick:
        args.sizes_mib, args.main_mib, args.rounds, args.clone_rounds_big = "64,256", 256, 3, 2
        args.bulk, args.hook_runs, args.start_rounds, args.load_rounds = 10, 30, 3, 1
        args.single_rounds = 5
    args.cold_n = [int(x) for x in args.cold_n.split(",")]
    args.parts = args.parts.split(",")
    if not set(args.parts) <= set(PARTS):
        sys.exit(f"bench.py: --parts takes {', '.join(PARTS)}")
    if not os.environ.get("APPSHARE_SANDBOX"):
        sys.exit("bench.py: run it through bench/run.sh (inside scripts/libvirt-sandbox.sh), never against the host's libvirtd.")
    os.makedirs(args.out, exist_ok=True)
    b = Bench(args)
    try:
        b.run_all()
    except Exception as e:  # one sentence, then the partial results for a look
        log(f"bench failed: {e}")
        with open(os.path.join(args.out, "partial.json"), "w") as f:
            json.dump(b.results, f, indent=2, default=str)
        raise
    report(b, args, time.monotonic() - T0)


if __name__ == "__main__":
    main()
