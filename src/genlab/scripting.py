"""What every workflow script does around its one call.

It logs to the rule's log, never swallows errors, and refuses to run a genlab
package other than the one of the workflow it belongs to (a venv whose editable
install points at another checkout would otherwise run that checkout's code).
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path

from .errors import GenlabError

PACKAGE = Path(__file__).resolve().parent


def check_code_identity(scriptdir: str | Path) -> None:
    """The workflow at <repo>/workflow/scripts runs <repo>/src/genlab, nothing else."""
    expected = (Path(scriptdir).resolve().parents[1] / "src" / "genlab").resolve()
    if expected.is_dir() and expected != PACKAGE:
        raise GenlabError(
            f"this job imported genlab from {PACKAGE}, not from its workflow's {expected}; "
            "put the workflow's src/ first on PYTHONPATH or reinstall with pip install -e ."
        )


@contextmanager
def logged(log_path: str | Path, carry: str | Path | None = None, scriptdir: str | Path | None = None,
           plugin_files: list[str] = ()):
    """Send logging and stderr to the rule's log; the one-line error also reaches the terminal.

    `carry` keeps the log of unfinished attempts (Snakemake deletes a job's log before
    each attempt): its text opens this attempt's log, this attempt is appended to it,
    and it is removed once the job succeeds, so the final log holds every attempt.
    """
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(log_path, "a", buffering=1)
    handlers = [logging.StreamHandler(stream)]
    if carry is not None and Path(carry).is_file():
        stream.write(Path(carry).read_text())
        stream.write("---- new attempt ----\n")
    if carry is not None:
        try:
            Path(carry).parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.FileHandler(carry, mode="a"))
        except OSError:
            pass  # the job itself reports an unwritable folder in one line
    terminal = sys.stderr
    sys.stderr = stream
    logging.basicConfig(handlers=handlers, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
    log = logging.getLogger("genlab")
    try:
        if scriptdir is not None:
            check_code_identity(scriptdir)
        if plugin_files:  # a job's registries hold what the workflow's did (genlab.plugins)
            from .plugins import load

            load(plugin_files)
        yield log
    except GenlabError as exc:
        log.error("%s", exc)
        print(f"genlab: error: {exc}", file=terminal)
        raise SystemExit(1) from None
    except BaseException:
        log.exception("job failed")
        raise
    else:
        if carry is not None:
            for handler in handlers[1:]:
                handler.close()
            Path(carry).unlink(missing_ok=True)
    finally:
        sys.stderr = terminal
        logging.shutdown()
        stream.flush()


def job(snakemake, carry: str | Path | None = None):
    """`with job(snakemake):` in a workflow script: its log, its attempts, its package checked, its plugins loaded."""
    plugin_files = list(snakemake.config.get("plugins") or [])
    return logged(snakemake.log[0], carry=carry, scriptdir=snakemake.scriptdir, plugin_files=plugin_files)


