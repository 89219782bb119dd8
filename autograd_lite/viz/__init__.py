"""See backprop: pictures of graphs and training steps, a narrated backward pass, gradient flow.

* :func:`draw_graph` draws the graph behind any tensor with Graphviz: values, gradients,
  parameters by name, and (when the forward ran inside a :class:`Recording`) one frame per
  ``nn.Module`` and the values of every intermediate tensor.
* :func:`trace_step` runs one training step while watching it; its ``.graph()`` shows
  forward values, gradients and each parameter's update. :func:`record_film` turns many
  steps into one self-contained HTML file with a slider.
* :func:`explain` narrates the backward pass op by op, with the real numbers.
* :func:`plot_gradient_flow` (matplotlib) plots per-layer gradient norms over training,
  recorded by :class:`GradientFlow`.

``python -m autograd_lite.viz`` draws the seed article's XOR network without any code.
"""

from __future__ import annotations

from ._record import Recording
from .explain import Explanation, explain
from .flow import GradientFlow, plot_gradient_flow
from .graph import AutogradGraph, GraphModel, GraphvizNotFoundError, build_graph, draw_graph
from .trace import Film, StepTrace, record_film, trace_step

__all__ = [
    "AutogradGraph", "Explanation", "Film", "GradientFlow", "GraphModel", "GraphvizNotFoundError",
    "Recording", "StepTrace", "build_graph", "draw_graph", "explain", "plot_gradient_flow", "record_film",
    "trace_step",
]
