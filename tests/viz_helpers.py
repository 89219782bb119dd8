"""Helpers for the viz tests: read a DOT source back into nodes, edges and frames."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_NODE = re.compile(r"^\s*(\w+) \[(.*)\]\s*$")
_EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?\s*$")
_SUBGRAPH = re.compile(r"^\s*subgraph (\w+) \{\s*$")


def parse_dot(source: str) -> dict:
    """Nodes (id -> attribute text), edges (list of (a, b, attribute text)), and the nodes of
    each cluster (cluster name -> set of node ids, nested clusters included)."""
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    clusters: dict[str, set[str]] = {}
    open_clusters: list[str] = []
    for line in source.splitlines():
        sub = _SUBGRAPH.match(line)
        if sub:
            open_clusters.append(sub.group(1))
            clusters.setdefault(sub.group(1), set())
            continue
        if line.strip() == "}" and open_clusters:
            open_clusters.pop()
            continue
        edge = _EDGE.match(line)
        if edge:
            edges.append((edge.group(1), edge.group(2), edge.group(3) or ""))
            continue
        node = _NODE.match(line)
        if node and node.group(1) not in ("graph", "node", "edge"):
            nodes[node.group(1)] = node.group(2)
            for name in open_clusters:
                clusters[name].add(node.group(1))
    return {"nodes": nodes, "edges": edges, "clusters": clusters}


def label_text(attributes: str) -> str:
    """The visible text of a node's label (HTML tags removed, entities decoded)."""
    match = re.search(r"label=<(.*)>(?: |$)", attributes)
    if match:
        text = re.sub(r"<BR[^>]*>|</TR>", "\n", match.group(1))
        text = re.sub(r"<[^>]+>", "", text)
        return html.unescape(text)
    match = re.search(r'label="((?:[^"\\]|\\.)*)"', attributes)
    if match:
        return match.group(1)
    match = re.search(r"label=(\S+)", attributes)
    return match.group(1) if match else ""


def squash(text: str) -> str:
    """Remove all whitespace, so multi-line arrays compare as one string."""
    return re.sub(r"\s+", "", text)


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class StrictChecker(HTMLParser):
    """Checks that every element is closed in order, and collects attributes that load things."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.loads: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "data", "action", "poster") and value is not None:
                self.loads.append((tag, name, value))
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href") and value is not None:
                self.loads.append((tag, name, value))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> does not close <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
