"""Find and run the Python code blocks of Markdown pages, checking their printed output.

The documentation's own test runner (used by ``tests/test_docs.py`` and by
``scripts/make_doc_images.py``). The rules, which ``docs/contributing-docs.md`` explains:

* Every fenced block whose language is ``python`` (or ``py``) runs, in page order, in one
  namespace per page, in the current working directory (the tests use a temporary one).
* A block opening with ``python {.no-run}`` is shown but not run. Use it sparingly.
* A ``text`` (or ``output``) block that follows a Python block, with only blank lines
  between them, is that block's expected standard output. Trailing whitespace and blank
  lines at either end are ignored; a line holding only ``...`` matches any number of
  lines (for output that depends on timing).
* An HTML comment ``<!-- docs-requires: torch, sklearn -->`` on a page names the optional
  modules the page needs (the tests skip it locally without them and fail in CI).
"""

from __future__ import annotations

import contextlib
import difflib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PYTHON_LANGS = {"python", "py", "python3"}
OUTPUT_LANGS = {"text", "output"}
NO_RUN = ".no-run"
WILDCARD = "..."

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")
_REQUIRES = re.compile(r"<!--\s*docs-requires:\s*(?P<names>[\w., -]+?)\s*-->")


@dataclass
class Block:
    """One fenced code block of a Markdown page."""

    path: str
    line: int  # 1-based line number of the opening fence
    lang: str
    options: list[str]
    code: str
    expected: str | None = None  # the output block that follows, for Python blocks
    expected_line: int | None = None

    @property
    def runs(self) -> bool:
        return self.lang in PYTHON_LANGS and NO_RUN not in self.options


@dataclass
class Page:
    """A Markdown page's blocks and the optional modules it declares it needs."""

    path: str
    blocks: list[Block] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)

    @property
    def runnable(self) -> list[Block]:
        return [b for b in self.blocks if b.runs]


class DocsBlockError(AssertionError):
    """A documentation code block failed or printed something other than its shown output."""


def _split_info(info: str) -> tuple[str, list[str]]:
    """``python {.no-run}`` -> ("python", [".no-run"]); ``{.python .no-run}`` works too."""
    words = info.replace("{", " ").replace("}", " ").split()
    if not words:
        return "", []
    lang = words[0].lstrip(".").lower()
    return lang, words[1:]


def parse(text: str, path: str = "<markdown>") -> Page:
    """Split a Markdown text into its fenced code blocks (nested fences are not supported)."""
    lines = text.splitlines()
    page = Page(path)
    for match in _REQUIRES.finditer(text):
        page.requires.extend(n.strip() for n in match.group("names").split(",") if n.strip())
    raw: list[tuple[int, int, Block]] = []  # (first line index, last line index, block)
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence = match.group("indent"), match.group("fence")
        lang, options = _split_info(match.group("info"))
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            close = _FENCE.match(lines[j])
            if (close and close.group("fence")[0] == fence[0] and len(close.group("fence")) >= len(fence)
                    and not close.group("info")):
                break
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        else:
            raise DocsBlockError(f"{path}:{i + 1}: the code block opened here is never closed")
        raw.append((i, j, Block(path, i + 1, lang, options, "\n".join(body) + "\n")))
        i = j + 1
    for (_, end, block), following in zip(raw, raw[1:] + [None]):
        page.blocks.append(block)
        if following is None or block.lang not in PYTHON_LANGS or following[2].lang not in OUTPUT_LANGS:
            continue
        between = lines[end + 1:following[0]]
        if all(not line.strip() for line in between):
            block.expected = following[2].code
            block.expected_line = following[2].line
    return page


def parse_file(path: str | Path, root: str | Path | None = None) -> Page:
    """Parse a Markdown file; block paths are shown relative to ``root`` when given."""
    path = Path(path)
    shown = str(path.relative_to(root)) if root is not None else str(path)
    return parse(path.read_text(encoding="utf-8"), shown)


def _normalise(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def output_matches(expected: str, actual: str) -> bool:
    """Compare line by line; an expected line that is just ``...`` matches any run of lines."""
    want, got = _normalise(expected), _normalise(actual)
    # memo[i][j]: does want[i:] match got[j:]?
    memo: dict[tuple[int, int], bool] = {}

    def match(i: int, j: int) -> bool:
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(want):
            result = j == len(got)
        elif want[i] == WILDCARD:
            result = any(match(i + 1, k) for k in range(j, len(got) + 1))
        else:
            result = j < len(got) and want[i] == got[j] and match(i + 1, j + 1)
        memo[key] = result
        return result

    return match(0, 0)


def run_block(block: Block, namespace: dict[str, Any]) -> str:
    """Execute one block in ``namespace``; return its standard output.

    Tracebacks point at the block's lines in the Markdown file itself.
    """
    source = "\n" * block.line + block.code  # line numbers in tracebacks = lines of the page
    code = compile(source, block.path, "exec")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            exec(code, namespace)
        except Exception as error:
            printed = buffer.getvalue()
            tail = f"\n--- it printed before failing:\n{printed}" if printed else ""
            raise DocsBlockError(
                f"{block.path}:{block.line}: this Python block raised {type(error).__name__}: {error}{tail}"
            ) from error
    return buffer.getvalue()


def check_output(block: Block, printed: str) -> None:
    """Raise :class:`DocsBlockError` if ``printed`` is not the block's shown output."""
    if block.expected is None or output_matches(block.expected, printed):
        return
    diff = "\n".join(difflib.unified_diff(
        _normalise(block.expected), _normalise(printed), "shown in the docs", "printed now", lineterm=""))
    raise DocsBlockError(
        f"{block.path}:{block.line}: the output shown at line {block.expected_line} is not what the "
        f"block prints now:\n{diff}"
    )


def run_page(page: Page, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run every runnable block of ``page`` in order in one namespace; return the namespace."""
    if namespace is None:
        namespace = {"__name__": "__docs__"}
    for block in page.runnable:
        check_output(block, run_block(block, namespace))
    return namespace
