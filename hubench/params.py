"""Declarative rules for keyword parameters (method hyperparameters above all).

A method declares one rule per hyperparameter in its class attribute ``param_rules``
(a mapping from the parameter's name to a rule); a subclass adds to or overrides its
bases' rules. :meth:`hubench.method.Method.validate_params` checks every value
against its rule, in the driver before anything runs and again in ``Method.fit``. A
rule only reads the value: it never converts it (an int stays an int, so cell keys and
results do not change).

Rule types (all keyword arguments are optional):

- ``Int(min=, max=, odd=)``: an integer (``bool`` refused; numpy integers accepted).
- ``Real(lo, hi, open_lo=, open_hi=, finite=True)``: an int or float in ``[lo, hi]``
  (``(`` / ``)`` when open); NaN is always refused, and so are ``+-inf`` while
  ``finite`` is True.
- ``Choice(*values, pattern=, describe=)``: one of the given strings, or a string
  matching the regular expression ``pattern``; a near miss gets a suggestion.
- ``Bool()``: ``True`` or ``False`` (not 0/1).

Every rule also takes ``none_ok`` (``True``, or a string saying what ``None`` means:
``Int(min=1, none_ok="automatic")``) and ``hint`` (words appended to what is expected:
``Real(0, 1, open_lo=True, open_hi=True, hint="such as 1e-12")``). A refused value
raises one :class:`~hubench.errors.ParameterError` such as
``method 'fcls': tol: expected a number in (0, 1) such as 1e-12, got 'abc'``.

This module imports nothing from hubench but :mod:`hubench.errors`, so methods, the
deep base and the datasets can all use it.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import re
from collections.abc import Iterator, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any

from hubench.errors import HubenchError, ParameterError, suggest

__all__ = ["Bool", "Choice", "Int", "Real", "Rule", "check_params", "owned_by"]


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Base of the rule types: ``check(name, value)`` raises or returns ``None``."""

    none_ok: bool | str = False
    hint: str = ""

    def accepts(self, value: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def expected(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        """What the rule accepts, in words: ``an int >= 1 or None (automatic)``."""
        text = self.expected()
        if self.hint:
            text += " " + self.hint
        if self.none_ok:
            text += " or None" + (f" ({self.none_ok})" if isinstance(self.none_ok, str) else "")
        return text

    def check(self, name: str, value: Any) -> None:
        """Raise :class:`ParameterError` (``"name: expected ..., got ..."``) unless
        ``value`` is accepted."""
        if value is None and self.none_ok:
            return
        if not self.accepts(value):
            raise ParameterError(f"{name}: expected {self.describe()}, got {value!r}{self.advice(value)}")

    def advice(self, value: Any) -> str:
        """Extra words after the refused value (a suggestion); empty by default."""
        return ""


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True, kw_only=True)
class Int(Rule):
    """An integer with optional bounds (inclusive) and parity."""

    min: int | None = None
    max: int | None = None
    odd: bool = False

    def accepts(self, value: Any) -> bool:
        if not _is_integer(value):
            return False
        if self.min is not None and value < self.min:
            return False
        if self.max is not None and value > self.max:
            return False
        return not (self.odd and value % 2 == 0)

    def expected(self) -> str:
        kind = "an odd int" if self.odd else "an int"
        if self.min is not None and self.max is not None:
            return f"{kind} in [{self.min}, {self.max}]"
        if self.min is not None:
            return f"{kind} >= {self.min}"
        if self.max is not None:
            return f"{kind} <= {self.max}"
        return kind


@dataclass(frozen=True)
class Real(Rule):
    """A real number (int or float, not bool) in ``[lo, hi]``; NaN never passes."""

    lo: float = -math.inf
    hi: float = math.inf
    _: KW_ONLY
    open_lo: bool = False
    open_hi: bool = False
    finite: bool = True

    def accepts(self, value: Any) -> bool:
        if not _is_number(value):
            return False
        number = float(value)
        if math.isnan(number) or (self.finite and math.isinf(number)):
            return False
        below = number <= self.lo if self.open_lo else number < self.lo
        above = number >= self.hi if self.open_hi else number > self.hi
        return not (below or above)

    def expected(self) -> str:
        unbounded = math.isinf(self.lo) or math.isinf(self.hi)
        kind = "a finite number" if self.finite and unbounded else "a number"
        if math.isinf(self.lo) and math.isinf(self.hi):
            return kind
        if math.isinf(self.hi):
            return f"{kind} {'>' if self.open_lo else '>='} {self.lo:g}"
        if math.isinf(self.lo):
            return f"{kind} {'<' if self.open_hi else '<='} {self.hi:g}"
        left, right = "(" if self.open_lo else "[", ")" if self.open_hi else "]"
        return f"{kind} in {left}{self.lo:g}, {self.hi:g}{right}"


@dataclass(frozen=True, init=False)
class Choice(Rule):
    """One of fixed strings, or a string matching ``pattern`` (a full match).

    ``describe`` replaces the list of values in the message when it would be long
    (``Choice(*pywt.wavelist(), describe="a PyWavelets wavelet such as 'db2'")``).
    """

    values: tuple[str, ...]
    pattern: str | None = None
    describe_as: str | None = None

    def __init__(
        self, *values: str, pattern: str | None = None, describe: str | None = None,
        none_ok: bool | str = False, hint: str = "",
    ) -> None:
        if not values and pattern is None:
            raise TypeError("Choice needs at least one value or a pattern")
        for name, value in (("values", tuple(values)), ("pattern", pattern), ("describe_as", describe),
                            ("none_ok", none_ok), ("hint", hint)):
            object.__setattr__(self, name, value)

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if value in self.values:
            return True
        return self.pattern is not None and re.fullmatch(self.pattern, value) is not None

    def expected(self) -> str:
        return self.describe_as or "one of " + ", ".join(self.values)

    def advice(self, value: Any) -> str:
        return suggest(value, self.values) if isinstance(value, str) else ""


@dataclass(frozen=True, kw_only=True)
class Bool(Rule):
    """``True`` or ``False`` (numbers and strings refused, so 1 is not True)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def expected(self) -> str:
        return "True or False"


@contextlib.contextmanager
def owned_by(owner: str) -> Iterator[None]:
    """Prefix the message of a :class:`HubenchError` raised in the block with
    ``"owner: "`` (``"method 'fcls': tol: ..."``), keeping its type; once only."""
    try:
        yield
    except HubenchError as exc:
        message = str(exc)
        if message.startswith(f"{owner}:"):
            raise
        raise type(exc)(f"{owner}: {message}") from None


def check_params(owner: str, params: Mapping[str, Any], rules: Mapping[str, Rule]) -> None:
    """Check each value of ``params`` that has a rule in ``rules`` (names without a rule
    pass); the first refused value raises ``ParameterError("owner: name: ...")``."""
    with owned_by(owner):
        for name, value in params.items():
            rule = rules.get(name)
            if rule is not None:
                rule.check(name, value)
