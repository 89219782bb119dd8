"""Profile one framework's side of a workload with cProfile.

    python -m benchmarks.profile_workload xor [--framework autograd_lite] [--top 25] [--quick]

One untimed warm-up run, then one profiled run; prints the top functions with their call
counts and the time per call in µs (cProfile's own overhead inflates small functions
roughly alike, so read the ranking and the call counts, not the absolute total).
``--save PATH`` keeps the raw stats for snakeviz / pstats.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.workloads import NAMES, get  # noqa: E402


def profile(name: str, framework: str, quick: bool) -> tuple[pstats.Stats, float]:
    """Run the workload once to warm up, then once under cProfile; return the stats and units."""
    import importlib

    workload = get(name)
    cfg = workload.config(quick)
    data = workload.make_data(cfg)
    if framework == "numpy":
        runner = workload.numpy(cfg, data)
    else:
        runner = workload.build(importlib.import_module(framework), cfg, data)
    runner.reset()
    runner.run()
    runner.reset()
    profiler = cProfile.Profile()
    profiler.enable()
    runner.run()
    profiler.disable()
    return pstats.Stats(profiler), workload.units(cfg)


def report(stats: pstats.Stats, units: float, top: int, sort: str) -> str:
    """The top functions as a table: calls, calls per unit, tottime, µs per call, cumtime."""
    rows = []
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        short = filename.split("site-packages/")[-1].split("/work/main/")[-1]
        where = f"{short}:{line}({func})" if line else func
        rows.append((where, ncalls, tottime, cumtime))
    key = {"tottime": 2, "cumtime": 3, "ncalls": 1}[sort]
    rows.sort(key=lambda r: r[key], reverse=True)
    total = sum(r[2] for r in rows)
    out = io.StringIO()
    out.write(f"total {total * 1e3:.1f} ms under cProfile ({units:g} units)\n")
    header = f"{'tottime ms':>10} {'%':>5} {'calls':>9} {'calls/unit':>10} {'µs/call':>8} {'cum ms':>9}"
    out.write(header + "  function\n")
    for where, ncalls, tottime, cumtime in rows[:top]:
        out.write(
            f"{tottime * 1e3:10.1f} {100 * tottime / total:5.1f} {ncalls:9d} {ncalls / units:10.2f} "
            f"{tottime / ncalls * 1e6:8.2f} {cumtime * 1e3:9.1f}  {where}\n"
        )
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_workload", description=__doc__.splitlines()[0]
    )
    parser.add_argument("workload", choices=NAMES)
    parser.add_argument("--framework", default="autograd_lite", choices=("autograd_lite", "torch", "numpy"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumtime", "ncalls"))
    parser.add_argument("--save", metavar="PATH", help="write the raw pstats file here")
    args = parser.parse_args(argv)
    stats, units = profile(args.workload, args.framework, args.quick)
    if args.save:
        stats.dump_stats(args.save)
    print(report(stats, units, args.top, args.sort))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
