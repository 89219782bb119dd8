"""Gradient flow: how large the gradient is in each layer, and how that changes in training.

In a deep network the gradient for an early layer is a product of one factor per later
layer (the chain rule). If those factors are small, as the sigmoid's slope is (at most
0.25), the product shrinks geometrically with depth and the first layers barely learn:
the *vanishing gradient* problem. ReLU's slope is exactly 1 wherever a unit is active,
which is why it eases the problem. :class:`GradientFlow` records per-layer gradient norms
during training and :func:`plot_gradient_flow` draws them (matplotlib, an optional extra).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._names import Names

__all__ = ["GradientFlow", "plot_gradient_flow"]


class GradientFlow:
    """Per-layer gradient norms over training.

    ``params`` is the model (an ``nn.Module``; parameters are grouped into layers by
    module, ``layers.0.weight`` and ``layers.0.bias`` form layer ``layers.0``), or a dict
    ``{name: tensor}`` / ``(name, tensor)`` pairs (each tensor is then its own layer
    unless names share a prefix before the last dot).

    Call :meth:`record` after each ``backward()``::

        flow = GradientFlow(model)
        for step in range(100):
            opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward()
            flow.record()
            opt.step()
    """

    def __init__(self, params: Any) -> None:
        names = params if isinstance(params, Names) else Names(params)
        self._groups: dict[str, list[Any]] = {}
        for name, tensor in names.parameters():
            layer = name.rsplit(".", 1)[0] if "." in name else name
            self._groups.setdefault(layer, []).append(tensor)
        if not self._groups:
            raise ValueError("GradientFlow: no parameters (tensors with requires_grad=True) were given")
        self.layers: list[str] = list(self._groups)
        self.steps: list[int] = []
        self._rows: list[list[float]] = []

    def record(self, step: int | None = None) -> np.ndarray:
        """Store the current gradient norm of every layer (nan where no gradient); return them."""
        row = []
        for layer in self.layers:
            total = 0.0
            seen = False
            for tensor in self._groups[layer]:
                grad = tensor.grad
                if grad is None:
                    continue
                g = np.asarray(grad._data, dtype=np.float64)
                total += float(np.dot(g.ravel(), g.ravel()))
                seen = True
            row.append(float(np.sqrt(total)) if seen else float("nan"))
        self.steps.append(len(self.steps) if step is None else int(step))
        self._rows.append(row)
        return np.asarray(row)

    @property
    def norms(self) -> np.ndarray:
        """An array ``[recorded step, layer]`` of gradient norms."""
        return np.asarray(self._rows, dtype=np.float64).reshape(len(self._rows), len(self.layers))

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"<GradientFlow: {len(self.layers)} layers, {len(self)} steps recorded>"


def _matplotlib() -> tuple[Any, Any]:
    """matplotlib's Figure class and colormap registry, without touching pyplot's global state."""
    try:
        from matplotlib import colormaps
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "plot_gradient_flow needs matplotlib, an optional extra: pip install matplotlib "
            "(or pip install 'autograd_lite[examples]')"
        ) from error
    return Figure, colormaps


def plot_gradient_flow(flows: GradientFlow | Mapping[str, GradientFlow], path: str | Path | None = None,
                       title: str | None = None, dpi: int = 110) -> Any:
    """Plot per-layer gradient norms; several runs side by side (``{"sigmoid": f1, "relu": f2}``).

    Each run gets a column with two panels, both on a log scale so geometric shrinking
    shows as straight lines: on top, every layer's gradient norm over training (dark =
    first layer, light = last); below, the norm per layer at the first, middle and last
    recorded steps (the "profile": a steep slope is a vanishing gradient).

    Returns the ``matplotlib.figure.Figure``; with ``path`` it is also saved there.
    Needs matplotlib (an optional extra).
    """
    runs = {"": flows} if isinstance(flows, GradientFlow) else dict(flows)
    if not runs:
        raise ValueError("plot_gradient_flow: no GradientFlow given")
    for label, flow in runs.items():
        if not isinstance(flow, GradientFlow):
            raise TypeError(f"plot_gradient_flow: {label!r} is a {type(flow).__name__}, not a GradientFlow")
        if len(flow) == 0:
            raise ValueError(f"plot_gradient_flow: {label or 'the run'!r} has no recorded steps; "
                             "call flow.record() after each backward()")
    figure_class, colormaps = _matplotlib()
    columns = len(runs)
    fig = figure_class(figsize=(5.2 * columns, 7.2), dpi=dpi, layout="constrained")
    axes = fig.subplots(2, columns, squeeze=False, sharey="row")
    cmap = colormaps["viridis"]
    for column, (label, flow) in enumerate(runs.items()):
        norms = flow.norms
        positive = np.where(norms > 0, norms, np.nan)
        steps = np.asarray(flow.steps)
        top, bottom = axes[0][column], axes[1][column]
        count = len(flow.layers)
        for index, layer in enumerate(flow.layers):
            colour = cmap(index / max(count - 1, 1) * 0.9)
            top.plot(steps, positive[:, index], color=colour, lw=1.4, label=layer)
        top.set_yscale("log")
        top.set_xlabel("training step")
        top.set_title(f"{label}: gradient norm per layer" if label else "gradient norm per layer")
        top.grid(True, which="major", alpha=0.3)
        if count <= 12:
            top.legend(fontsize=7, ncol=2, title="layer (first -> last)", title_fontsize=7)
        picks = sorted({0, len(flow) // 2, len(flow) - 1})
        depth = np.arange(1, count + 1)
        for shade, pick in zip((0.15, 0.5, 0.85), picks, strict=False):
            bottom.plot(depth, positive[pick], marker="o", ms=3, color=cmap(shade),
                        label=f"step {steps[pick]}")
        bottom.set_yscale("log")
        bottom.set_xlabel("layer (1 = closest to the input)")
        bottom.set_xticks(depth)
        bottom.set_title("profile across layers")
        bottom.grid(True, which="major", alpha=0.3)
        bottom.legend(fontsize=7)
    axes[0][0].set_ylabel("||gradient|| (log scale)")
    axes[1][0].set_ylabel("||gradient|| (log scale)")
    if title:
        fig.suptitle(title)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    return fig
