"""What every workflow script does around its one call: log to the rule's log, never swallow errors."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path

from .errors import GenlabError


@contextmanager
def logged(log_path: str | Path):
    """Send logging and stderr to the rule's log; the one-line error also reaches the terminal."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(log_path, "w", buffering=1)
    terminal = sys.stderr
    sys.stderr = stream
    logging.basicConfig(
        stream=stream, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True
    )
    try:
        yield logging.getLogger("genlab")
    except GenlabError as exc:
        logging.getLogger("genlab").error("%s", exc)
        print(f"genlab: error: {exc}", file=terminal)
        raise
    except BaseException:
        logging.getLogger("genlab").exception("job failed")
        raise
    finally:
        sys.stderr = terminal
        stream.flush()
