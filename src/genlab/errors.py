"""The one exception type users see: a one-line message naming the culprit."""


class GenlabError(Exception):
    """An error the user can fix (bad config, bad file, diverged run).

    The message is a single line that names the key, file or value at fault,
    so that Snakemake's log and the terminal show the cause, not a traceback.
    """
