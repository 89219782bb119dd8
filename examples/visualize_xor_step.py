"""See one training step of the seed article's XOR network, then watch it learn.

The network is the article's: 2 inputs, 3 sigmoid hidden units, 1 sigmoid output, weights
drawn uniformly from [0, 1), zero biases, full-batch gradient descent at learning rate 0.1
on the four XOR cases. This script writes:

* ``xor_step.svg`` / ``xor_step.png``: one training step, traced. Every tensor shows its
  values (black) and its gradient (red); every parameter also shows its value after the
  update and the change (green). The frames are the ``nn.Module``s that computed them.
* ``xor_explain.txt``: the backward pass told step by step, with the numbers: the chain
  rule as a worked example (the same gradients the article derives by hand).
* ``xor_explain.svg``: the graph annotated with each op's backward step and local rule.
* ``xor_film.html``: a single self-contained HTML file with a slider over traced steps of
  the whole training run, next to the loss curve. Open it in any browser, offline.

Run ``python examples/visualize_xor_step.py`` (Graphviz's ``dot`` must be installed:
``apt-get install graphviz``, ``brew install graphviz`` or ``conda install graphviz``).
By default the files go to ``docs/images``; pass another folder as the first argument.
"""

from __future__ import annotations

import sys
from pathlib import Path

import autograd_lite as ag
from autograd_lite import viz
from autograd_lite.viz.xor import SEED_LR, xor_problem

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "images"


def main(fast: bool = False, out_dir: str | Path = DEFAULT_OUT) -> dict:
    """Write the pictures into ``out_dir``; ``fast`` shortens the film (for tests).

    Returns the paths written and the film's first and last loss.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    # 1. One traced training step: forward, loss, backward, SGD update.
    problem = xor_problem(seed=0)
    optimizer = ag.optim.SGD(problem.model.parameters(), lr=SEED_LR)
    trace = viz.trace_step(problem.loss, params=problem.names, optimizer=optimizer, step=0)
    picture = trace.graph(rankdir="TB")
    step_svg = picture.render(out / "xor_step.svg")
    step_png = picture.render(out / "xor_step.png")
    print(trace.summary())

    # 2. The same first step's backward pass, explained (on a fresh copy of the network).
    problem = xor_problem(seed=0)
    explanation = viz.explain(problem.loss(), params=problem.names)
    explain_txt = out / "xor_explain.txt"
    explain_txt.write_text(explanation.text + "\n", encoding="utf-8")
    explain_svg = explanation.graph(rankdir="TB").render(out / "xor_explain.svg")

    # 3. The film: the article trains for 10,000 steps; the film traces a dozen of them.
    problem = xor_problem(seed=0)
    optimizer = ag.optim.SGD(problem.model.parameters(), lr=SEED_LR)
    steps, frames = (40, 4) if fast else (10_000, 12)
    title = f"The seed article's XOR network learning: {steps} steps of SGD, lr {SEED_LR}"
    film = viz.record_film(problem.loss, steps=steps, params=problem.names, optimizer=optimizer,
                           frames=frames, rankdir="TB", title=title)
    film_html = film.save(out / "xor_film.html")
    with ag.no_grad():
        outputs = problem.model(problem.x).numpy().ravel()
    print(f"loss {film.losses[0]:.4f} -> {film.losses[-1]:.4f} after {steps} steps; "
          f"outputs for 00, 01, 10, 11: {', '.join(f'{v:.3f}' for v in outputs)}")
    for path in (step_svg, step_png, explain_txt, explain_svg, film_html):
        print(f"wrote {path}")
    return {
        "step_svg": Path(step_svg), "step_png": Path(step_png), "explain_txt": explain_txt,
        "explain_svg": Path(explain_svg), "film_html": film_html,
        "first_loss": film.losses[0], "last_loss": film.losses[-1],
    }


if __name__ == "__main__":
    main(out_dir=sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
