"""One generic registry, used for methods, scenarios and metrics.

Registration is by decorator; a duplicate name is an error; an unknown name fails fast
with close-match suggestions; ``names("pattern*")`` lists with shell-style wildcards.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from hubench.errors import HubenchError, UnknownNameError, suggest

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object mapping with decorator registration."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        if not name or name != name.strip():
            raise HubenchError(f"invalid {self.kind} name {name!r}")
        if name in self._items:
            raise HubenchError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register("name")``."""

        def decorator(item: T) -> T:
            return self.add(name, item)

        return decorator

    def remove(self, name: str) -> None:
        """Drop an entry (tests register throw-away entries and clean up)."""
        self._items.pop(name, None)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}{suggest(name, self._items)}; known: {known}"
            ) from None

    def names(self, pattern: str = "*") -> list[str]:
        return sorted(n for n in self._items if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)
