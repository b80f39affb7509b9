"""genlab.warm: a script handed to the warm server runs in a forked child as it would on its own.

Real processes throughout: a server started as the workflow starts it, and jobs that run a
script the way Snakemake's `script:` does (the script's globals hold `snakemake`).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genlab import warm

SCRIPT = """\
from genlab.warm import delegate

delegate(snakemake, __file__)
import os, signal, sys, time
print("cwd", os.getcwd())
print("env", os.environ.get("JOB_ONLY"))
print("pid", os.getpid(), "child", __import__("genlab.warm").warm._in_child)
print("to stderr", file=sys.stderr)
mode = snakemake["mode"]
if mode == "raise":
    raise ValueError("boom")
if mode == "wait":
    def stop(signum, frame):
        print("stopped by", signal.Signals(signum).name, flush=True)
        sys.exit(5)
    signal.signal(signal.SIGTERM, stop)
    Path = __import__("pathlib").Path
    Path(snakemake["pidfile"]).write_text(str(os.getpid()))
    while True:
        time.sleep(0.02)
sys.exit(snakemake["code"])
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server watching this test process, as the Snakefile's onstart starts one for Snakemake."""
    folder = tmp_path_factory.mktemp("warm")
    saved = {key: os.environ.get(key) for key in (warm.SOCKET_ENV, warm.SERVER_PID_ENV)}
    proc = warm.start(folder / "server.log")
    env = {key: os.environ[key] for key in saved}
    for key, value in saved.items():  # keep this process's environment as it was
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    yield env, folder / "server.log", proc
    proc.terminate()
    proc.wait(timeout=30)


def _job(tmp_path, server_env, snakemake, **popen):
    """A job as Snakemake runs it: a fresh Python executing the script with `snakemake` set."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    runner = f"import runpy; runpy.run_path({str(script)!r}, init_globals={{'snakemake': {snakemake!r}}}, run_name='__main__')"
    env = {**os.environ, **server_env, "JOB_ONLY": "from the job"}
    return subprocess.Popen([sys.executable, "-c", runner], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def test_script_runs_in_a_child_with_the_jobs_folder_environment_streams_and_status(server, tmp_path):
    server_env, log, _ = server
    job = _job(tmp_path, server_env, {"mode": "exit", "code": 3})
    out, err = job.communicate(timeout=120)
    assert job.returncode == 3, err
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines["cwd"] == str(tmp_path) and lines["env"] == "from the job"
    pid, child = lines["pid"].split(" child ")
    assert int(pid) != job.pid and child == "True", "the script must run in the server's child"
    assert "to stderr" in err
    assert f"job {pid}: script.py in {tmp_path}" in log.read_text()


def test_an_exception_fails_the_job_with_its_traceback(server, tmp_path):
    job = _job(tmp_path, server[0], {"mode": "raise"})
    _, err = job.communicate(timeout=120)
    assert job.returncode == 1 and "ValueError: boom" in err


def _pid_written(pidfile: Path) -> bool:
    """The job's child has written its pid (write_text creates the file before it writes: wait for the digits)."""
    return pidfile.is_file() and pidfile.read_text().strip().isdigit()


def test_sigterm_to_the_job_reaches_the_script(server, tmp_path):
    pidfile = tmp_path / "child.pid"
    job = _job(tmp_path, server[0], {"mode": "wait", "pidfile": str(pidfile)})
    _wait_for(lambda: _pid_written(pidfile))
    job.send_signal(signal.SIGTERM)
    out, _ = job.communicate(timeout=60)
    assert job.returncode == 5 and "stopped by SIGTERM" in out


def test_killing_the_jobs_process_group_stops_the_child(server, tmp_path):
    pidfile = tmp_path / "child.pid"
    job = _job(tmp_path, server[0], {"mode": "wait", "pidfile": str(pidfile)}, start_new_session=True)
    _wait_for(lambda: _pid_written(pidfile))
    child = int(pidfile.read_text())
    os.killpg(job.pid, signal.SIGKILL)  # as `kill -9 -<pgid>` of a Snakemake run and its jobs
    job.wait(timeout=30)
    _wait_for(lambda: not warm._alive(child) or _zombie(child))


def test_killing_only_the_job_stops_the_child(server, tmp_path):
    pidfile = tmp_path / "child.pid"
    job = _job(tmp_path, server[0], {"mode": "wait", "pidfile": str(pidfile)})
    _wait_for(lambda: _pid_written(pidfile))
    child = int(pidfile.read_text())
    job.kill()  # SIGKILL to the job alone: the child sees its connection close and stops itself
    job.wait(timeout=30)
    _wait_for(lambda: not warm._alive(child) or _zombie(child))


def test_without_a_server_the_script_runs_in_the_job_itself(tmp_path):
    env = {warm.SOCKET_ENV: str(tmp_path / "absent.sock"), warm.SERVER_PID_ENV: "0"}
    job = _job(tmp_path, env, {"mode": "exit", "code": 0})
    out, err = job.communicate(timeout=120)
    assert job.returncode == 0, err
    assert f"pid {job.pid} child False" in out


def test_a_server_that_died_before_serving_is_not_waited_for(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # never waited: a zombie, as a crashed server is
    _wait_for(lambda: _zombie(dead.pid))
    env = {warm.SOCKET_ENV: str(tmp_path / "never.sock"), warm.SERVER_PID_ENV: str(dead.pid)}
    job = _job(tmp_path, env, {"mode": "exit", "code": 0})
    out, err = job.communicate(timeout=30)  # not READY_WAIT_S
    assert job.returncode == 0, err
    assert f"pid {job.pid} child False" in out
    dead.wait()


def test_server_stops_and_removes_its_socket_when_the_workflow_ends(tmp_path):
    workflow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    sock = tmp_path / "s.sock"
    server = subprocess.Popen([sys.executable, "-m", "genlab.warm", "--socket", str(sock), "--watch", str(workflow.pid)],
                              stdout=subprocess.PIPE, text=True)
    try:
        _wait_for(sock.exists, timeout=120)
        workflow.kill()
        workflow.wait()
        assert server.wait(timeout=30) == 0
        assert not sock.exists()
    finally:
        workflow.kill()
        server.kill()


def _zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except OSError:
        return False


def _wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        time.sleep(0.05)
