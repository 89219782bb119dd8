"""Command line: pictures of the seed article's XOR network without writing any code.

    python -m autograd_lite.viz                      # one training step -> xor_step.svg
    python -m autograd_lite.viz step -o step.png     # the same as PNG (or .pdf, .dot)
    python -m autograd_lite.viz explain              # the backward pass, narrated
    python -m autograd_lite.viz explain -o bw.svg    # ... as an annotated picture
    python -m autograd_lite.viz film -o film.html    # many steps, one HTML file with a slider

The console script ``autograd-lite-viz`` is the same program.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .graph import AutogradGraph, GraphvizNotFoundError

_DEFAULT_OUTPUT: dict[str, str | None] = {"step": "xor_step.svg", "explain": None, "film": "xor_film.html"}
_FORMATS = ("svg", "png", "pdf", "dot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograd_lite.viz",
        description=(
            "Draw the seed article's 2-3-1 sigmoid XOR network (trained with gradient descent, "
            "lr 0.1): one training step as a picture, the backward pass explained, or a film of "
            "many steps."
        ),
    )
    parser.add_argument("what", nargs="?", default="step", choices=("step", "explain", "film"),
                        help="step: one traced training step (default); explain: the backward pass "
                             "narrated; film: an HTML file with a slider over many steps")
    parser.add_argument("-o", "--output", help="file to write (default: xor_step.svg for step, "
                                                "xor_film.html for film, the terminal for explain)")
    parser.add_argument("-f", "--format", choices=_FORMATS,
                        help="picture format (default: from the output's suffix, else svg)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the initial weights (default 0)")
    parser.add_argument("--rankdir", default="TB", choices=("TB", "LR"),
                        help="layout: TB (top to bottom, default) or LR (left to right)")
    parser.add_argument("--steps", type=int, default=2000, help="film: training steps to run (default 2000)")
    parser.add_argument("--frames", type=int, default=12, help="film: steps to draw (default 12)")
    return parser


def _write_picture(graph: AutogradGraph, output: Path, fmt: str | None) -> Path:
    fmt = fmt or (output.suffix[1:].lower() if output.suffix[1:].lower() in _FORMATS else "svg")
    if fmt == "dot":
        output.write_text(graph.source, encoding="utf-8")
        return output
    target = output if output.suffix[1:].lower() == fmt else output.with_suffix(output.suffix + "." + fmt)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        graph.render(outfile=str(target), format=fmt, cleanup=True)
    except GraphvizNotFoundError:
        fallback = target.with_suffix(".dot")
        fallback.write_text(graph.source, encoding="utf-8")
        print(f"note: wrote the DOT source to {fallback} instead (render it once Graphviz is installed: "
              f"dot -T{fmt} {fallback} -o {target})", file=sys.stderr)
        raise
    return target


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on success)."""
    args = _parser().parse_args(argv)
    from ..optim import SGD
    from .explain import explain
    from .trace import record_film, trace_step
    from .xor import SEED_LR, xor_problem

    problem = xor_problem(args.seed)
    output: str | None = args.output or _DEFAULT_OUTPUT[args.what]
    try:
        if args.what == "explain":
            explanation = explain(problem.loss(), params=problem.names)
            if output is None:
                print(explanation.text)
                return 0
            path = Path(output)
            if path.suffix.lower() in (".txt", ".md", "") and args.format is None:
                path.write_text(explanation.text + "\n", encoding="utf-8")
            else:
                path = _write_picture(explanation.graph(rankdir=args.rankdir), path, args.format)
        elif args.what == "step":
            optimizer = SGD(problem.model.parameters(), lr=SEED_LR)
            trace = trace_step(problem.loss, params=problem.names, optimizer=optimizer, step=0)
            path = _write_picture(trace.graph(rankdir=args.rankdir), Path(output or "xor_step.svg"), args.format)
        else:
            if args.steps < 1 or args.frames < 1:
                print("error: --steps and --frames must be at least 1", file=sys.stderr)
                return 2
            optimizer = SGD(problem.model.parameters(), lr=SEED_LR)
            film = record_film(problem.loss, steps=args.steps, params=problem.names, optimizer=optimizer,
                               frames=args.frames, rankdir=args.rankdir,
                               title=f"The seed XOR network learning ({args.steps} steps, lr {SEED_LR})")
            path = film.save(output or "xor_film.html")
    except GraphvizNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
