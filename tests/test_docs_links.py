"""Every link in the documentation points to a file that exists.

Checks the relative Markdown links and images of README.md and docs/**/*.md (the part
after ``#`` is an anchor and is not checked), and every ``docs/....md`` or
``docs/....png`` path named in the docs, the package, the tests, the benchmarks and
the scripts (docstrings, comments, error messages), so moving a page cannot leave a
dead reference behind.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
#: ``[text](target)`` and ``![alt](target)``; a target has no spaces (titles are not used).
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
#: a docs path named in prose or code: ``docs/guide/metrics.md``, ``docs/figures/x.png``.
DOCS_PATH = re.compile(r"(?<![\w/.-])docs/[\w./-]+?\.(?:md|png)\b")
CODE_DIRS = ("hubench", "tests", "benchmarks", "scripts")


def _strip_code_blocks(text: str) -> str:
    """Drop fenced code blocks: a ``[x](y)`` inside one is code, not a link."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _links(page: Path) -> list[str]:
    return LINK.findall(_strip_code_blocks(page.read_text(encoding="utf-8")))


def test_pages_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert "README.md" in names and "docs/README.md" in names
    assert any(n.startswith("docs/guide/") for n in names)
    assert any(n.startswith("docs/dev/") for n in names)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_point_to_existing_files(page):
    dead = []
    for target in _links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # http(s):, mailto:, or an anchor in the same page
        path = target.split("#", 1)[0]
        if not (page.parent / path).exists():
            dead.append(target)
    assert not dead, f"{page.relative_to(ROOT)}: dead links {dead}"


def _named_docs_paths():
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    for folder in CODE_DIRS:
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".md", ".toml"}]
    for path in sorted(files):
        if path == Path(__file__).resolve():
            continue  # this file names examples
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in DOCS_PATH.finditer(text):
            yield path.relative_to(ROOT).as_posix(), match.group(0)


def test_docs_paths_named_anywhere_exist():
    dead = sorted({(where, name) for where, name in _named_docs_paths() if not (ROOT / name).exists()})
    assert not dead, "docs paths that do not exist: " + ", ".join(f"{n} (in {w})" for w, n in dead)


def test_the_checker_sees_a_dead_link(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("[a](missing.md#x) ![b](img.png) [c](https://example.org) [d](#top)\n"
                    "```\n[e](in-code.md)\n```\n", encoding="utf-8")
    assert _links(page) == ["missing.md#x", "img.png", "https://example.org", "#top"]
