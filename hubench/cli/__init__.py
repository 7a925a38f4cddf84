"""The command line: a thin layer over the library.

Each sub-command is one module ``hubench/cli/<name>_cmd.py`` exposing ``NAME`` (the
sub-command), ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
Modules are discovered, so adding a command is adding one file. A
:class:`~hubench.errors.HubenchError` (a user mistake) becomes one line on stderr and
exit code 2, never a traceback.

Before a command runs, the plug-ins are loaded (:func:`hubench.plugins.load_plugins`:
installed entry points and ``$HUBENCH_PLUGINS``), so every command sees the same
registries; a plug-in that fails to load is one line and exit code 2. A command module
may set ``PLUGINS = "list"`` (load, but leave failures for the command to show, as
``hubench list`` does) or ``PLUGINS = "none"`` (it never looks at a registry).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from hubench.errors import HubenchError
from hubench.harness.store import StoreWriteError


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"hubench {self.prog.split()[-1]}: error: {message}\n")
        raise SystemExit(2)


def _commands() -> list[ModuleType]:
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.endswith("_cmd"):
            mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    return sorted(mods, key=lambda m: m.NAME)


def build_parser() -> argparse.ArgumentParser:
    from hubench import __version__

    parser = _Parser(prog="hubench", description="Benchmark suite for hyperspectral unmixing.")
    parser.add_argument("--version", action="version", version=f"hubench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for mod in _commands():
        cmd = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(cmd)
        cmd.set_defaults(_run=mod.run, _plugins=getattr(mod, "PLUGINS", "strict"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        if args._plugins != "none":
            from hubench.plugins import load_plugins

            load_plugins(strict=args._plugins == "strict")
        return int(args._run(args))
    except HubenchError as exc:
        sys.stderr.write(f"hubench {args.command}: error: {exc}\n")
        return 2
    except OSError as exc:
        if exc.filename is None:  # not about a path the user named: a real fault
            raise
        # A path the user named cannot be used (name too long, not a folder, no access).
        sys.stderr.write(f"hubench {args.command}: error: {exc.filename}: {exc.strerror or exc}; "
                         "check the path\n")
        return 2
    except StoreWriteError as exc:  # not bad input: a lock held too long, a failing disk
        sys.stderr.write(f"hubench {args.command}: stopped: {exc}; run the same command again once it is free\n")
        return 3
    except KeyboardInterrupt:
        sys.stderr.write(f"hubench {args.command}: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
