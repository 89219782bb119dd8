"""MkDocs hooks (see ``hooks:`` in mkdocs.yml): render the library's docstrings cleanly.

The docstrings are written to be read in a terminal and run as doctests, so they hold
``>>>`` sessions and a few reStructuredText roles (``:func:`draw_graph```). Markdown would
turn ``>>>`` lines into nested block quotes and print the roles verbatim, so a small
Markdown preprocessor, added to every Markdown converter MkDocs and mkdocstrings create,

* wraps each ``>>>`` session (up to the next blank line) in a ``pycon`` code block, and
* turns ``:func:`x```, ``:class:`~a.b.C```... into inline code (``x``, ``C``).

It leaves fenced code blocks alone, so the pages' own examples are untouched.
"""

from __future__ import annotations

import re
from typing import Any

from markdown import Extension
from markdown.preprocessors import Preprocessor
from mkdocs.plugins import event_priority

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|exc|obj|py:\w+):`~?([^`]+)`")


def _role_to_code(match: re.Match) -> str:
    target = match.group(1)
    if "<" in target and target.endswith(">"):  # :func:`label <target>`
        target = target.split("<", 1)[0].strip()
    if match.group(0).startswith((":func:`~", ":class:`~", ":meth:`~", ":mod:`~", ":attr:`~", ":data:`~")):
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


class _DocstringPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fence: str | None = None
        i = 0
        while i < len(lines):
            line = lines[i]
            opening = _FENCE.match(line)
            if fence is not None:
                out.append(line)
                if opening and opening.group(1).startswith(fence):
                    fence = None
                i += 1
                continue
            if opening:
                fence = opening.group(1)
                out.append(line)
                i += 1
                continue
            stripped = line.lstrip()
            if stripped.startswith(">>>"):
                indent = line[: len(line) - len(stripped)]
                session = []
                while i < len(lines) and lines[i].strip():
                    session.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].strip())
                    i += 1
                out.extend(["", f"{indent}```pycon", *[indent + s for s in session], f"{indent}```", ""])
                continue
            out.append(_ROLE.sub(_role_to_code, line))
            i += 1
        return out


class DocstringExtension(Extension):
    """Registers the preprocessor just before fenced code blocks are collected."""

    def extendMarkdown(self, md: Any) -> None:  # noqa: N802 (Markdown's API name)
        md.preprocessors.register(_DocstringPreprocessor(md), "autograd_lite_docstrings", 29)


@event_priority(100)  # before mkdocstrings reads the list of Markdown extensions
def on_config(config: Any) -> Any:
    config.markdown_extensions.append(DocstringExtension())
    return config
