"""A real Ray cluster on this machine, listening on 127.0.0.1 only: a head node and worker nodes
(separate raylets joined with ``ray start --address``, as on many machines), a sweep run on it through
hydra-ray-launcher, and the cluster stopped again, also on failure or Ctrl-C.

    python tools/ray_local.py [--workers 1] [--cpus 2] -- [forecast multirun overrides]
    python tools/ray_local.py -- as_of=2026-01-16,2026-03-01 scenario=air_strikes,one_time_raid,repeated_raids

It runs ``python -m forecast -m hydra/launcher=ray_cluster hydra.launcher.ray.init.address=127.0.0.1:PORT
...`` and exits with its status. The test suite uses ``LocalRayCluster`` as a fixture.

Loopback only: Ray turns 127.0.0.1 into the machine's routable address and binds its servers there
unless RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (then its node address is 127.0.0.1 and GCS, raylet and
agents bind to loopback). With that variable the `ray start` CLI refuses to add a worker node, so worker
nodes start through ``_WORKER_BOOT`` below, which lifts only that CLI check. Every process the cluster
runs stays in the session of the `ray start --block` process that started it; ``stop`` ends those
sessions (SIGTERM, then SIGKILL) and nothing else. `ray stop` is never used: it kills every Ray process
of the user on the machine, other people's clusters included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = {"127.0.0.1", "::1"}

# `ray start --address` for a worker node with the loopback switch on: the CLI's "multi-node clusters
# are not supported on Windows and OSX" refusal is keyed on the same switch; lift it in this process only
# (its children inherit the variable and keep resolving 127.0.0.1 to itself).
_WORKER_BOOT = """
import sys, types
import ray._private.ray_constants as rc
import ray.scripts.scripts as s
s.ray_constants = types.SimpleNamespace(**{**vars(rc), "ENABLE_RAY_CLUSTER": True})
sys.exit(s.main())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_bin() -> str:
    exe = Path(sys.executable).with_name("ray")
    return str(exe) if exe.exists() else (shutil.which("ray") or "ray")


class LocalRayCluster:
    """Head + ``workers`` worker nodes on 127.0.0.1, each declaring ``cpus`` CPUs."""

    def __init__(self, workers: int = 1, cpus: int = 2, env: dict[str, str] | None = None,
                 temp_dir: Path | None = None):
        self.workers, self.cpus = workers, cpus
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        # short: Ray's unix socket paths live under it (108-byte limit)
        self._own_tmp = temp_dir is None
        self.temp_dir = Path(temp_dir or tempfile.mkdtemp(prefix="ray", dir="/tmp"))
        self.env = {**os.environ, **(env or {}), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
                    "RAY_USAGE_STATS_ENABLED": "0"}
        self.env.pop("RAY_ADDRESS", None)
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 180) -> LocalRayCluster:
        try:
            self._spawn("head", [_ray_bin(), "start", "--head", "--block", f"--port={self.port}",
                                 f"--num-cpus={self.cpus}", "--include-dashboard=false", "--disable-usage-stats",
                                 f"--temp-dir={self.temp_dir}", f"--ray-client-server-port={_free_port()}",
                                 *self._agent_ports()], timeout)
            for i in range(self.workers):
                self._spawn(f"worker{i}", [sys.executable, "-c", _WORKER_BOOT, "start", "--block",
                                           f"--address={self.address}", f"--num-cpus={self.cpus}",
                                           "--disable-usage-stats", *self._agent_ports()], timeout)
            self._wait_nodes(1 + self.workers, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _agent_ports() -> list[str]:
        # free ports instead of Ray's fixed defaults, so two clusters on one machine never collide
        return [f"--dashboard-agent-listen-port={_free_port()}", f"--metrics-export-port={_free_port()}"]

    def _spawn(self, name: str, cmd: list[str], timeout: float) -> None:
        log = self.temp_dir / f"{name}.log"
        self.logs.append(log)
        fh = open(log, "w")  # noqa: SIM115 - the child owns it
        p = subprocess.Popen(cmd, env=self.env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, cwd=self.temp_dir)
        fh.close()
        self.procs.append(p)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            text = log.read_text(errors="replace")
            if "Ray runtime started" in text:
                return
            if p.poll() is not None:
                raise RuntimeError(f"ray {name} exited ({p.returncode}): {text[-2000:]}")
            time.sleep(0.5)
        raise TimeoutError(f"ray {name} did not start in {timeout:.0f}s: {log.read_text(errors='replace')[-2000:]}")

    def _wait_nodes(self, n: int, timeout: float) -> None:
        probe = ("import ray,sys; ray.init(address=sys.argv[1], log_to_driver=False); "
                 "print(sum(x['Alive'] for x in ray.nodes()))")
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            out = subprocess.run([sys.executable, "-c", probe, self.address], env=self.env, capture_output=True,
                                 text=True, timeout=timeout, cwd=self.temp_dir)
            if out.returncode == 0 and out.stdout.strip().splitlines()[-1:] == [str(n)]:
                return
            time.sleep(1)
        raise TimeoutError(f"the cluster at {self.address} did not reach {n} nodes")

    def session_pids(self) -> list[int]:
        """Every live process of this cluster (all stay in the sessions of the `ray start` processes)."""
        sids = {p.pid for p in self.procs}
        out = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                if os.getsid(int(d.name)) in sids and (d / "stat").read_text().split(") ")[-1][0] != "Z":
                    out.append(int(d.name))
            except (OSError, IndexError):
                continue
        return out

    def listening(self) -> set[str]:
        """host:port of every listening TCP socket the cluster's processes hold (read from /proc)."""
        import ipaddress

        listen = {}
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                f = line.split()
                if f[3] != "0A":  # LISTEN
                    continue
                hexip, hexport = f[1].split(":")
                raw = bytes.fromhex(hexip)
                # the kernel prints each 32-bit word in host (little-endian) order
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                ip = ipaddress.ip_address(raw)
                if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
                    ip = ip.ipv4_mapped
                listen[f[9]] = f"{ip}:{int(hexport, 16)}"
        out = set()
        for pid in self.session_pids():
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    link = os.readlink(fd)
                    if link.startswith("socket:[") and link[8:-1] in listen:
                        out.add(listen[link[8:-1]])
            except OSError:
                continue
        return out

    def stop(self, grace: float = 5) -> None:
        """End this cluster's sessions: SIGTERM, then SIGKILL what is left after ``grace`` seconds."""
        for p in reversed(self.procs):  # workers first, then the head
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        t0 = time.monotonic()
        while self.session_pids() and time.monotonic() - t0 < grace:
            time.sleep(0.3)
        for pid in self.session_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        t0 = time.monotonic()
        while self.session_pids() and time.monotonic() - t0 < 10:
            time.sleep(0.2)
        if self._own_tmp:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LocalRayCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def sweep_command(address: str, overrides: list[str]) -> list[str]:
    return [sys.executable, "-m", "forecast", "-m", "hydra/launcher=ray_cluster",
            f"hydra.launcher.ray.init.address={address}", *overrides]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=1, help="worker nodes besides the head (default 1)")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs each node declares (a job asks for 2)")
    ap.add_argument("overrides", nargs="*", help="forecast overrides (after --)")
    args = ap.parse_args(argv)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "FORECAST_HOME": os.environ.get("FORECAST_HOME", str(ROOT))}
    cluster = LocalRayCluster(args.workers, args.cpus, env)

    def _stop(signum, frame):  # a TERM/HUP ends the cluster too, not only Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    t0 = time.monotonic()
    try:
        cluster.start()
        print(f"ray_local: cluster at {cluster.address} ({1 + args.workers} nodes) up in "
              f"{time.monotonic() - t0:.1f}s; listening on {sorted(cluster.listening())}", file=sys.stderr)
        t1 = time.monotonic()
        code = subprocess.run(sweep_command(cluster.address, args.overrides), env=cluster.env).returncode
        print(f"ray_local: sweep exit {code} in {time.monotonic() - t1:.1f}s", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("ray_local: interrupted", file=sys.stderr)
        return 130
    finally:
        cluster.stop()
        print(f"ray_local: cluster stopped ({len(cluster.session_pids())} processes left)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
