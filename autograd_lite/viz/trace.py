"""Training-step traces and the HTML "film" of many steps.

:func:`trace_step` runs one training step (forward, loss, backward, update) while
watching it, and returns a :class:`StepTrace` whose :meth:`~StepTrace.graph` shows every
value, every gradient and each parameter's update (before -> after).

:func:`record_film` runs many steps, traces a handful of them, and writes one
self-contained HTML file: a slider over the traced steps, each a picture of the whole
step, next to the loss curve. The file has no external scripts, styles or images, so it
opens offline from a disk or an e-mail attachment.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ._format import DEFAULT_MAX_ELEMENTS, fmt_array, fmt_norm, fmt_number
from ._names import Names
from ._record import Recording, graph_leaves
from .graph import UPDATE_COLOR, AutogradGraph, GraphModel, build_graph, render_model

__all__ = ["Film", "StepTrace", "record_film", "trace_step"]


def _optimizer_params(optimizer: Any) -> list:
    params = []
    for group in getattr(optimizer, "param_groups", []):
        params.extend(group["params"])
    return params


def _describe_update(optimizer: Any, update: Any, lr: float | None) -> str:
    if optimizer is not None:
        groups = getattr(optimizer, "param_groups", None)
        if groups:
            lr_value = groups[0].get("lr")
            return f"{type(optimizer).__name__}(lr={fmt_number(lr_value)})" if lr_value is not None else \
                type(optimizer).__name__
        return type(optimizer).__name__
    if lr is not None:
        return f"p <- p - {fmt_number(lr)} * p.grad"
    if update is not None:
        return getattr(update, "__name__", "update")
    return "no update"


class StepTrace:
    """One recorded training step; draw it with :meth:`graph`.

    Attributes:
        loss: the loss value of the step.
        step: the step's index (when known).
        params: ``(name, tensor)`` of every parameter that got a gradient.
        before, grads, after: ``{name: array}``: each parameter's value before the update,
            its gradient, and its value after the update.
    """

    def __init__(self, loss: Any, recording: Recording, names: Names, params: list[tuple[str, Any]],
                 before: dict[str, np.ndarray], grads: dict[str, np.ndarray | None],
                 after: dict[str, np.ndarray], update_text: str, step: int | None) -> None:
        self.loss_tensor = loss
        self.loss = float(np.asarray(loss._data).reshape(-1)[0]) if np.size(loss._data) else float("nan")
        self.recording = recording
        self.names = names
        self.params = params
        self.before = before
        self.grads = grads
        self.after = after
        self.update_text = update_text
        self.step = step

    def __repr__(self) -> str:
        where = f" {self.step}" if self.step is not None else ""
        return f"<StepTrace of step{where}: loss {fmt_number(self.loss)}, {len(self.params)} parameters>"

    def model(self) -> GraphModel:
        """The picture's content as data (see :class:`~autograd_lite.viz.graph.GraphModel`)."""
        return build_graph(self.loss_tensor, params=self.names, recording=self.recording, root_name="loss")

    def graph(self, show_data: bool = True, show_grad: bool = True, show_update: bool = True,
              rankdir: str = "LR", max_elements: int = DEFAULT_MAX_ELEMENTS, collapse: Any = None,
              title: str | None = None) -> AutogradGraph:
        """Draw the step: values and gradients of every tensor, and each parameter's update."""
        model = self.model()
        if show_update:
            for box in model.tensors.values():
                if box.kind not in ("parameter", "input") or box.name not in self.after:
                    continue
                after = self.after[box.name]
                change = after - self.before[box.name]
                if after.size <= max_elements:
                    box.rows.append(("after", fmt_array(after, max_elements), UPDATE_COLOR))
                    box.rows.append(("change", fmt_array(change, max_elements), UPDATE_COLOR))
                else:
                    box.rows.append(("after", fmt_array(after, max_elements), UPDATE_COLOR))
                    box.rows.append(("change", f"|change| = {fmt_norm(change)}", UPDATE_COLOR))
        if title is None:
            where = f"Training step {self.step}" if self.step is not None else "Training step"
            title = f"{where}: loss = {fmt_number(self.loss)}   update: {self.update_text}"
        model.title = title
        return render_model(model, show_data=show_data, show_grad=show_grad, rankdir=rankdir,
                            max_elements=max_elements, collapse=collapse)

    def summary(self) -> str:
        """A text table: each parameter's value before, its gradient, and its value after."""
        lines = [f"loss = {fmt_number(self.loss)}   update: {self.update_text}"]
        for name, _ in self.params:
            if name not in self.after:
                continue
            lines.append(f"{name}:")
            for caption, value in (("before", self.before[name]), ("grad", self.grads.get(name)),
                                   ("after", self.after[name])):
                if value is None:
                    continue
                text = fmt_array(value).replace("\n", "\n" + " " * 11)
                lines.append(f"  {caption:<8} {text}")
        return "\n".join(lines)


def _run_update(optimizer: Any, update: Callable[[], Any] | None, lr: float | None, params: list) -> None:
    if optimizer is not None:
        optimizer.step()
    elif update is not None:
        update()
    elif lr is not None:
        with no_grad():
            for p in params:
                if p.grad is not None:
                    p._data -= lr * p.grad._data


def _check_update_args(optimizer: Any, update: Any, lr: Any) -> None:
    given = [name for name, value in (("optimizer", optimizer), ("update", update), ("lr", lr))
             if value is not None]
    if len(given) > 1:
        raise ValueError(f"trace_step: pass only one of optimizer, update and lr (got {', '.join(given)})")
    if optimizer is not None and not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"trace_step: optimizer must have a step() method, got {type(optimizer).__name__}")
    if update is not None and not callable(update):
        raise TypeError(
            f"trace_step: update must be a callable taking no arguments, got {type(update).__name__}")


def _zero(optimizer: Any, params: list) -> None:
    if optimizer is not None and callable(getattr(optimizer, "zero_grad", None)):
        optimizer.zero_grad()
        return
    for p in params:
        p.grad = None


def trace_step(
    step_fn: Callable[[], Any], params: Any = None, optimizer: Any = None,
    update: Callable[[], Any] | None = None, lr: float | None = None, zero_grad: bool = True,
    step: int | None = None,
) -> StepTrace:
    """Run one training step while watching it, and return its :class:`StepTrace`.

    The step is: zero the gradients (``zero_grad=True``), ``loss = step_fn()`` (forward
    and loss), ``loss.backward()``, then the update: ``optimizer.step()``, or your
    ``update()``, or plain gradient descent ``p -= lr * p.grad`` when ``lr`` is given.

    Args:
        step_fn: computes and returns the loss, e.g. ``lambda: loss_fn(model(x), y)``.
        params: the model (an ``nn.Module``) or a dict ``{name: tensor}`` naming
            parameters (and, optionally, inputs such as ``x`` and ``target``).
        optimizer, update, lr: how parameters are updated (at most one of them).
        zero_grad: clear gradients first, so the picture shows this step's gradients.
        step: the step's number, shown in the picture's title.

    >>> import autograd_lite as ag
    >>> w = ag.tensor([1.0, -2.0], requires_grad=True)
    >>> trace = trace_step(lambda: (w * w).sum(), params={"w": w}, lr=0.25)
    >>> trace.grads["w"], trace.after["w"]
    (array([ 2., -4.], dtype=float32), array([ 0.5, -1. ], dtype=float32))
    """
    _check_update_args(optimizer, update, lr)
    names = params if isinstance(params, Names) else Names(params)
    if not names.tensors and optimizer is not None:
        names = Names([(f"param{i}", p) for i, p in enumerate(_optimizer_params(optimizer))])
    known = [t for _, t in names.parameters()] or _optimizer_params(optimizer)
    if zero_grad:
        _zero(optimizer, known)
    with Recording() as rec:
        loss = step_fn()
    if not hasattr(loss, "grad_fn") or loss.grad_fn is None:
        raise RuntimeError(
            "trace_step: step_fn must return the loss, a Tensor computed with gradients from the "
            f"parameters; it returned {type(loss).__name__}"
            + (" without a grad_fn" if hasattr(loss, "grad_fn") else "")
        )
    leaves = graph_leaves(loss.grad_fn)
    with rec.capture_grads():
        loss.backward()
    rec.snapshot(leaves)
    # Every leaf that got a gradient is shown with its update; named ones keep their names.
    shown: list[tuple[str, Any]] = []
    seen = set()
    for name, tensor in names.parameters():
        if id(tensor) in rec.leaf_values:
            shown.append((name, tensor))
            seen.add(id(tensor))
    for position, leaf in enumerate(leaves):
        if id(leaf) not in seen:
            name = names.tensor_name(leaf) or f"param{position}"
            names.tensors[id(leaf)] = (name, leaf)
            shown.append((name, leaf))
    before = {name: rec.leaf_values[id(t)] for name, t in shown}
    grads = {name: rec.leaf_grads.get(id(t)) for name, t in shown}
    _run_update(optimizer, update, lr, [t for _, t in shown])
    after = {name: np.array(t._data, copy=True) for name, t in shown}
    return StepTrace(loss, rec, names, shown, before, grads, after,
                     _describe_update(optimizer, update, lr), step)


# ---------------------------------------------------------------------- the film
def frame_steps(steps: int, frames: int) -> list[int]:
    """About ``frames`` step indices in [0, steps), spaced evenly on a log scale.

    Learning changes fastest at the start, so early steps get more frames.
    """
    if steps <= 0:
        return []
    if frames >= steps:
        return list(range(steps))
    count = max(frames, 2)
    chosen: set[int] = set()
    while len(chosen) < min(frames, steps):  # low steps collide after rounding: use more points
        top = math.log1p(steps - 1)
        chosen = {int(round(math.expm1(k / (count - 1) * top))) for k in range(count)}
        count += 1
    return sorted(chosen)


class Film:
    """Traced steps of a training run plus the loss of every step; :meth:`save` writes HTML."""

    def __init__(self, frames: list[StepTrace], losses: list[float], title: str,
                 draw: dict | None = None) -> None:
        self.frames = frames
        self.losses = losses
        self.title = title
        self.draw = dict(draw or {})

    def __repr__(self) -> str:
        return f"<Film: {len(self.frames)} traced steps of {len(self.losses)}>"

    def _frame_svg(self, index: int, trace: StepTrace) -> str:
        svg = trace.graph(**self.draw).svg()
        svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
        svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg)
        svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
        svg = re.sub(r'\bid="', f'id="f{index}_', svg)
        return svg.strip()

    def html(self) -> str:
        """The film as one self-contained HTML document (renders each frame with ``dot``)."""
        frames_html = []
        meta = []
        for index, trace in enumerate(self.frames):
            hidden = "" if index == 0 else " hidden"
            frames_html.append(
                f'<div class="frame{hidden}" id="frame{index}">{self._frame_svg(index, trace)}</div>')
            meta.append({
                "step": trace.step, "loss": trace.loss,
                "params": {
                    name: {"grad_norm": float(np.linalg.norm(g)) if g is not None else None,
                           "change_norm": float(np.linalg.norm(trace.after[name] - trace.before[name]))}
                    for name, g in trace.grads.items() if name in trace.after
                },
            })
        chart = _loss_chart(self.losses, [t.step for t in self.frames])
        data = json.dumps({"frames": meta, "count": len(self.losses)})
        title = html.escape(self.title)
        return _PAGE.format(title=title, chart=chart, frames="\n".join(frames_html), data=data,
                            last=max(len(self.frames) - 1, 0),
                            first_step=self.frames[0].step if self.frames else 0,
                            first_loss=fmt_number(self.frames[0].loss) if self.frames else "")

    def save(self, path: str | Path) -> Path:
        """Write the HTML film to ``path`` and return the path."""
        path = Path(path)
        text = self.html()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


def record_film(
    step_fn: Callable[[], Any], steps: int, params: Any = None, optimizer: Any = None,
    update: Callable[[], Any] | None = None, lr: float | None = None,
    frames: int | Iterable[int] = 12, title: str = "Watching a network learn", **draw: Any,
) -> Film:
    """Train for ``steps`` steps, tracing some of them, and return the :class:`Film`.

    Each step is what :func:`trace_step` does (zero grads, ``step_fn()``, backward,
    update). ``frames`` is how many steps to trace (spread on a log scale, so the fast
    early changes are seen) or the list of step indices to trace. The remaining keyword
    arguments go to :meth:`StepTrace.graph` when the film is drawn (``rankdir``,
    ``max_elements``, ``collapse``...).

    ``record_film(...).save("film.html")`` writes the film.
    """
    _check_update_args(optimizer, update, lr)
    if steps < 1:
        raise ValueError(f"record_film: steps must be at least 1, got {steps}")
    wanted = set(frame_steps(steps, frames) if isinstance(frames, int) else frames)
    bad = sorted(s for s in wanted if not 0 <= s < steps)
    if bad:
        raise ValueError(f"record_film: frame steps {bad} are outside 0..{steps - 1}")
    names = params if isinstance(params, Names) else Names(params)
    known = [t for _, t in names.parameters()] or _optimizer_params(optimizer)
    traces: list[StepTrace] = []
    losses: list[float] = []
    for index in range(steps):
        if index in wanted:
            trace = trace_step(step_fn, params=names, optimizer=optimizer, update=update, lr=lr, step=index)
            traces.append(trace)
            losses.append(trace.loss)
            continue
        _zero(optimizer, known)
        loss = step_fn()
        loss.backward()
        losses.append(float(np.asarray(loss._data).reshape(-1)[0]))
        _run_update(optimizer, update, lr, known)
    return Film(traces, losses, title, draw)


def _loss_chart(losses: list[float], marks: list[int | None], width: int = 420, height: int = 170) -> str:
    """An inline SVG of the loss per step (log scale when it spans a decade or more)."""
    values = np.asarray(losses, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "<svg width='0' height='0'></svg>"
    use_log = bool(finite.min() > 0 and finite.max() / finite.min() >= 10)
    ys = np.log10(np.where(np.isfinite(values) & (values > 0), values, finite.min())) if use_log else values
    lo, hi = float(np.nanmin(ys)), float(np.nanmax(ys))
    if hi - lo < 1e-12:
        hi = lo + 1.0
    left, right, top, bottom = 48, 10, 10, 28
    count = max(len(values) - 1, 1)

    def px(i: float) -> float:
        return left + (width - left - right) * i / count

    def py(v: float) -> float:
        return top + (height - top - bottom) * (hi - v) / (hi - lo)

    stride = max(1, len(values) // 800)  # at most ~800 points in the polyline
    points = " ".join(f"{px(i):.1f},{py(float(ys[i])):.1f}" for i in range(0, len(values), stride))
    points += f" {px(len(values) - 1):.1f},{py(float(ys[-1])):.1f}"
    ticks = []
    for v in (hi, lo):
        text = fmt_number(10**v if use_log else v)
        ticks.append(f"<text x='{left - 4}' y='{py(v) + 4:.1f}' text-anchor='end'>{text}</text>")
    dots = "".join(
        f"<circle class='mark' cx='{px(s):.1f}' cy='{py(float(ys[s])):.1f}' r='2.5'/>"
        for s in marks if s is not None and 0 <= s < len(values))
    first = next((s for s in marks if s is not None), 0) or 0
    scale = "log scale" if use_log else ""
    return (
        f"<svg class='chart' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
        f"role='img' aria-label='loss per step'>"
        f"<rect x='{left}' y='{top}' width='{width - left - right}' height='{height - top - bottom}' "
        "fill='#fbfbfb' stroke='#ced4da'/>"
        f"<polyline fill='none' stroke='#1c7ed6' stroke-width='1.5' points='{points}'/>"
        f"{dots}{''.join(ticks)}"
        f"<text x='{left}' y='{height - 8}'>step 0</text>"
        f"<text x='{width - right}' y='{height - 8}' text-anchor='end'>step {len(values) - 1}</text>"
        f"<text x='{(left + width) / 2:.0f}' y='{height - 8}' text-anchor='middle'>loss {scale}</text>"
        f"<circle id='cursor' cx='{px(first):.1f}' cy='{py(float(ys[first])):.1f}' r='5' "
        "fill='none' stroke='#e8590c' stroke-width='2'/>"
        f"<g id='chartdata' data-left='{left}' data-width='{width - left - right}' data-count='{count}' "
        f"data-top='{top}' data-height='{height - top - bottom}' data-lo='{lo}' data-hi='{hi}' "
        f"data-log='{int(use_log)}'></g>"
        "</svg>"
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 1.2em;
        color: #212529; }}
h1 {{ font-size: 1.35em; margin: 0 0 .3em 0; }}
.top {{ display: flex; flex-wrap: wrap; gap: 1.5em; align-items: center; }}
.controls {{ min-width: 320px; }}
.controls input[type=range] {{ width: 100%; }}
.readout {{ font-size: 1.1em; margin: .4em 0; font-variant-numeric: tabular-nums; }}
button {{ font-size: 1em; padding: .25em .9em; margin-right: .4em; }}
.chart text {{ font-size: 11px; fill: #495057; }}
.chart .mark {{ fill: #1c7ed6; }}
.frame.hidden {{ display: none; }}
.frame svg {{ max-width: 100%; height: auto; }}
.legend span {{ display: inline-block; padding: 0 .5em; margin-right: .4em; border: 1px solid #adb5bd;
                border-radius: 3px; font-size: .85em; }}
.help {{ color: #495057; font-size: .9em; max-width: 60em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="help">Each frame is one full training step: the forward pass (values), the backward pass
(gradients, in red) and the update of every parameter (after and change, in green). Drag the slider
or press Play; the arrow keys step through the frames.</p>
<div class="legend">
<span style="background:#dbe9ff">parameter</span>
<span style="background:#f8f9fa;border-style:dashed">no grad (data)</span>
<span style="background:#ffffff">intermediate</span>
<span style="background:#ffe8cc">loss</span>
<span style="background:#e9ecef;border-radius:9px">op</span>
</div>
<div class="top">
<div class="controls">
<div class="readout" id="readout">step {first_step}: loss {first_loss}</div>
<input type="range" id="slider" min="0" max="{last}" value="0" step="1" aria-label="frame">
<div><button id="play" type="button">Play</button>
<button id="prev" type="button">&lt;</button><button id="next" type="button">&gt;</button></div>
</div>
{chart}
</div>
<div id="frames">
{frames}
</div>
<script>
(function () {{
  var data = {data};
  var slider = document.getElementById("slider");
  var readout = document.getElementById("readout");
  var cursor = document.getElementById("cursor");
  var chart = document.getElementById("chartdata");
  var current = 0, timer = null;
  function yOf(loss) {{
    var lo = parseFloat(chart.getAttribute("data-lo")), hi = parseFloat(chart.getAttribute("data-hi"));
    var v = chart.getAttribute("data-log") === "1" ? Math.log10(Math.max(loss, 1e-300)) : loss;
    var top = parseFloat(chart.getAttribute("data-top")), h = parseFloat(chart.getAttribute("data-height"));
    return top + h * (hi - v) / (hi - lo);
  }}
  function show(i) {{
    var n = data.frames.length;
    if (n === 0) return;
    i = Math.max(0, Math.min(n - 1, i));
    document.getElementById("frame" + current).classList.add("hidden");
    document.getElementById("frame" + i).classList.remove("hidden");
    current = i;
    slider.value = i;
    var f = data.frames[i];
    readout.textContent = "step " + f.step + " of " + data.count + ": loss " + f.loss.toPrecision(4);
    var left = parseFloat(chart.getAttribute("data-left")), w = parseFloat(chart.getAttribute("data-width"));
    var count = parseFloat(chart.getAttribute("data-count"));
    cursor.setAttribute("cx", left + w * f.step / count);
    cursor.setAttribute("cy", yOf(f.loss));
  }}
  function stop() {{
    if (timer) {{ clearInterval(timer); timer = null; }}
    document.getElementById("play").textContent = "Play";
  }}
  slider.addEventListener("input", function () {{ stop(); show(parseInt(slider.value, 10)); }});
  document.getElementById("prev").addEventListener("click", function () {{ stop(); show(current - 1); }});
  document.getElementById("next").addEventListener("click", function () {{ stop(); show(current + 1); }});
  document.getElementById("play").addEventListener("click", function () {{
    if (timer) {{ stop(); return; }}
    if (current >= data.frames.length - 1) show(0);
    this.textContent = "Pause";
    timer = setInterval(function () {{
      if (current >= data.frames.length - 1) {{ stop(); return; }}
      show(current + 1);
    }}, 900);
  }});
  document.addEventListener("keydown", function (e) {{
    if (e.key === "ArrowRight") {{ stop(); show(current + 1); }}
    if (e.key === "ArrowLeft") {{ stop(); show(current - 1); }}
  }});
  show(0);
}})();
</script>
</body>
</html>
"""
