"""The project's exception hierarchy.

Every error a user can cause derives from :class:`HubenchError`; the command line turns
one into a single line on stderr and exit code 2. Each subclass also derives from the
built-in exception a Python caller would expect (``ValueError``, ``LookupError``...), so
``except ValueError`` keeps working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


class HubenchError(Exception):
    """Root of every error hubench raises on purpose."""


class ValidationError(HubenchError, ValueError):
    """An array or record field is malformed (wrong shape, NaN/Inf, off the simplex...)."""


class ParameterError(HubenchError, ValueError):
    """A hyperparameter or scenario parameter is unknown or out of range."""


class UnknownNameError(HubenchError, LookupError):
    """A method, scenario or metric name that is not registered."""

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError
        return str(self.args[0]) if self.args else ""


class DataError(HubenchError, ValueError):
    """A data file is unreadable, truncated or does not hold what it should."""


class UnavailableError(HubenchError, RuntimeError):
    """A method or feature cannot run in this environment (missing package, no GPU)."""


class PluginError(HubenchError, ImportError):
    """A plug-in (an installed entry point or a ``$HUBENCH_PLUGINS`` module) failed to
    load: a setup error of the user's environment, exit code 2 (hubench/plugins.py)."""


class StoreError(HubenchError, RuntimeError):
    """The results store cannot be opened, written or has an incompatible schema."""


class DownloadError(HubenchError, OSError):
    """A download failed: network error, time limit, oversized or wrong content.

    Not bad input, so ``hubench data fetch`` reports it in one line with exit code 1
    (exit code 2 is kept for bad input)."""


def check_param_names(owner: str, given: Iterable[str], known: Sequence[str]) -> None:
    """Raise :class:`ParameterError` for the first name in ``given`` not in ``known``,
    with close-match suggestions; ``owner`` names what was asked ("method 'vca'")."""
    for key in given:
        if key not in known:
            raise ParameterError(
                f"{owner} has no parameter {key!r}{suggest(key, known)}; "
                f"its parameters: {', '.join(known) or 'none'}"
            )


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for close matches of ``name``, or ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"
