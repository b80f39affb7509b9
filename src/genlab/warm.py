"""Warm jobs: workflow scripts run in a process forked from one that has already imported torch.

A fresh job pays Python, torch, torch's compiler guards (the first optimizer step imports
torch._dynamo), pandas and genlab: about 3.5 s on a 2-core CPU, longer than many of the
study's trainings. On a local run the workflow starts one server that imports all of that
once; each job's script then hands its `snakemake` object, working folder, environment and
standard streams to the server, which forks a child to run the script. The child joins the
job's process group (so Ctrl-C and kill of the group reach it), the job forwards the signals
it gets, and the child stops itself if the job disappears. The job exits with the child's
status. Without a server (Slurm, --use-conda, `warm_jobs: false`, or the server not
answering) a script runs in its own process as before.

Only the standard library is imported here: a job decides before it imports torch.
"""

from __future__ import annotations

import argparse
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .experiments import BUILTIN as BUILTIN_EXPERIMENTS

SOCKET_ENV = "GENLAB_WARM_SOCKET"
SERVER_PID_ENV = "GENLAB_WARM_PID"
READY_WAIT_S = 60.0  # a job that starts while the server imports waits for it (the import is what it would do anyway)
PRELOAD = (
    "torch",
    "torch._dynamo",  # imported by the first optimizer step
    "torch.func",
    "pandas",
    "snakemake.iocontainers",
    "snakemake.logging",
    "genlab.jobs",
    "genlab.data",
    "genlab.plots",
    "genlab.claims",
    "genlab.provenance",
    "genlab.experiments",
    *(f"genlab.experiments.{name}" for name in BUILTIN_EXPERIMENTS),
    "genlab.measures.jobs",
    "genlab.measures.spectrum",
    "genlab.measures.tables",
    "genlab.measures.figure_jobs",
    "genlab.measures.figures",
)
_in_child = False


# ---- the job's side -------------------------------------------------------------------------

def delegate(snakemake, script: str) -> None:
    """First line of a workflow script: run the rest of it in a warm child, if a server is up.

    Returns (and the script goes on in this process) when there is no server or inside the
    child itself; otherwise exits with the child's status.
    """
    if _in_child:
        return
    conn = _connect()
    if conn is None:
        return
    with conn:
        payload = pickle.dumps({"script": script, "snakemake": snakemake, "cwd": os.getcwd(), "env": dict(os.environ),
                                "argv": sys.argv, "pgid": os.getpgid(0)})
        socket.send_fds(conn, [struct.pack("!Q", len(payload))], [0, 1, 2])
        conn.sendall(payload)
        pid = _recv_exact(conn, 8)
        child = struct.unpack("!q", pid)[0] if len(pid) == 8 else None
        if child is not None:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, lambda signum, _frame: _forward(child, signum))
        status = _recv_exact(conn, 4) if child is not None else b""
    if len(status) < 4:
        print(f"genlab: error: warm job process {child or '(not started)'} ended without an exit status; "
              "its log, or logs/warm_jobs.log, says why", file=sys.stderr)
        raise SystemExit(1)
    raise SystemExit(struct.unpack("!i", status)[0])


def _connect() -> socket.socket | None:
    path = os.environ.get(SOCKET_ENV)
    if not path or "SLURM_JOB_ID" in os.environ:
        return None
    server = int(os.environ.get(SERVER_PID_ENV, "0"))
    deadline = time.monotonic() + READY_WAIT_S
    while not os.path.exists(path):  # the server creates its socket once its imports are done
        if not _alive(server) or time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        return None
    return conn


def _forward(child: int, signum: int) -> None:
    try:
        os.kill(child, signum)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    """Running: not gone, and not a zombie (a server that died is one until Snakemake exits)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc: trust kill(0)


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


# ---- the workflow's side --------------------------------------------------------------------

def start_for(workflow, enabled: bool, log: str | Path = "logs/warm_jobs.log") -> subprocess.Popen | None:
    """From the Snakefile's onstart: a server when jobs run as local subprocesses of this Python.

    Not under a cluster executor (jobs run elsewhere), nor with conda or containers (jobs run
    another interpreter), nor in Snakemake's own job processes.
    """
    local = workflow.local_exec and workflow.exec_mode.name == "DEFAULT"
    if not enabled or not local or workflow.deployment_settings.deployment_method:
        return None
    try:
        return start(log)
    except OSError as exc:  # no socket folder, no fork: jobs simply start their own Python
        print(f"genlab: note: warm jobs off ({exc}); every job starts its own Python", file=sys.stderr)
        return None


def start(log: str | Path) -> subprocess.Popen:
    """Start a server for this workflow process (the caller's pid) and point its jobs at it."""
    folder = tempfile.mkdtemp(prefix="genlab-warm-")  # short: a socket path has at most ~100 bytes
    path = os.path.join(folder, "jobs.sock")
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as stream:
        server = subprocess.Popen(
            [sys.executable, "-m", "genlab.warm", "--socket", path, "--watch", str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=stream, stderr=stream, env=os.environ.copy(),
        )
    os.environ[SOCKET_ENV] = path
    os.environ[SERVER_PID_ENV] = str(server.pid)
    return server


def serve(path: str, watch: int) -> None:
    """Import everything jobs use, then fork a child per request until process `watch` is gone."""
    import importlib

    t0 = time.perf_counter()
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a job that needs it imports it itself, and reports
            print(f"could not preload {name}: {type(exc).__name__}: {exc}", flush=True)
    print(f"genlab warm server {os.getpid()}: imports took {time.perf_counter() - t0:.1f} s, serving {path}", flush=True)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    listener.listen(64)
    os.rename(path + ".tmp", path)  # jobs wait for this name: it appears only once the server answers
    listener.settimeout(0.5)
    try:
        while _alive(watch):
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            try:
                request, fds = _receive(conn)
            except (OSError, EOFError, pickle.UnpicklingError, struct.error) as exc:
                print(f"dropped a request: {exc}", flush=True)
                conn.close()
                continue
            child = os.fork()
            if child == 0:
                listener.close()
                _child(conn, request, fds)  # never returns
            print(f"job {child}: {Path(request['script']).name} in {request['cwd']}", flush=True)
            for fd in fds:
                os.close(fd)
            conn.close()
    finally:
        listener.close()
        for leftover in (path, path + ".tmp"):
            Path(leftover).unlink(missing_ok=True)
        try:
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    conn.settimeout(10)
    header, fds, _flags, _addr = socket.recv_fds(conn, 8, 3)
    try:
        (size,) = struct.unpack("!Q", header)
        request = pickle.loads(_recv_exact(conn, size))
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    conn.settimeout(None)
    return request, fds


def _child(conn: socket.socket, request: dict, fds: list[int]) -> None:
    global _in_child
    _in_child = True
    status = 1
    try:
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        try:
            os.setpgid(0, request["pgid"])  # in the job's group: Ctrl-C and kill of the group reach this process
        except OSError:
            pass  # another session: the job forwards its signals, and the watchdog below covers its death
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = request["argv"]
        conn.sendall(struct.pack("!q", os.getpid()))
        threading.Thread(target=_stop_when_job_is_gone, args=(conn,), daemon=True).start()
        status = _run_script(request["script"], request["snakemake"])
        sys.stdout.flush()
        sys.stderr.flush()
        conn.sendall(struct.pack("!i", status))
    except BaseException:  # noqa: BLE001 - the child must end here, whatever happened
        import traceback

        traceback.print_exc()
    finally:
        os._exit(status)


def _run_script(script: str, snakemake) -> int:
    import runpy

    try:
        runpy.run_path(script, init_globals={"snakemake": snakemake}, run_name="__main__")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:  # noqa: BLE001 - reported as a fresh interpreter would
        import traceback

        traceback.print_exc()
        return 1
    return 0


def _stop_when_job_is_gone(conn: socket.socket) -> None:
    """The job never writes after its request: end of stream means it died (say, SIGKILL)."""
    try:
        conn.recv(1)
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGTERM)  # training saves its resume state at the next step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m genlab.warm", description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="path of the Unix socket to serve")
    parser.add_argument("--watch", type=int, required=True, help="serve while this process (the workflow) lives")
    args = parser.parse_args(argv)
    try:
        serve(args.socket, args.watch)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    # Run in the module genlab.warm, not __main__: children check genlab.warm._in_child.
    from genlab import warm

    warm.main()
