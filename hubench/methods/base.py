"""Backward-compatible re-export of the method contract.

The contract (:class:`Method`, :func:`register_method`, the ``METHODS`` registry...)
lives in :mod:`hubench.method`, below both ``hubench.methods`` and ``hubench.deep``.
This module keeps ``from hubench.methods.base import Method, register_method`` (used
by plug-ins) working; new code imports from :mod:`hubench.method`.
"""

from hubench.method import (
    METHODS,
    PROFILES,
    TASKS,
    Method,
    get_method,
    list_methods,
    register_method,
)

__all__ = ["METHODS", "PROFILES", "TASKS", "Method", "get_method", "list_methods", "register_method"]
