"""See backprop: pictures of graphs and training steps, a narrated backward pass, gradient flow.

* :func:`draw_graph` draws the graph behind any tensor (Graphviz).
"""

from __future__ import annotations

from .graph import AutogradGraph, GraphvizNotFoundError, build_graph, draw_graph

__all__ = ["AutogradGraph", "GraphvizNotFoundError", "build_graph", "draw_graph"]
