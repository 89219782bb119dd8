"""One framework's side of one workload, in its own process (started by :mod:`benchmarks.run`).

``python -m benchmarks.worker WORKLOAD FRAMEWORK [--quick]``

A fresh process per (workload, framework) makes peak memory attributable: the worker
imports only its framework, reports the peak RSS right after that import (the baseline),
builds the workload, then answers the parent over stdin/stdout, one JSON object per line:

- on start: ``{"ready": true, "import_rss_mb": .., "info": {..}}`` or ``{"error": ..}``
- ``run``: resets (untimed), runs the workload once (timed), answers
  ``{"seconds": .., "result": {..}, "rss_mb": ..}`` or ``{"error": ..}``
- ``quit``: answers ``{"peak_rss_mb": ..}`` (``getrusage`` max RSS of this process) and exits

Anything the workload prints goes to stderr, so it cannot corrupt the protocol.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
import traceback
from typing import Any

FRAMEWORKS = ("autograd_lite", "torch", "numpy")


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """This process's resident set size now, in MiB."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def _import_framework(framework: str) -> tuple[Any, dict[str, Any]]:
    import numpy as np

    if framework == "numpy":
        return None, {"version": np.__version__}
    if framework == "torch":
        import torch

        return torch, {"version": torch.__version__, "threads": torch.get_num_threads()}
    import autograd_lite
    from autograd_lite.utils.allocator import tune_allocator

    # The library leaves glibc's allocator alone; the benchmarks opt in (see benchmarks/README.md).
    tuned = tune_allocator() if os.environ.get("BENCH_TUNE_ALLOCATOR", "1") == "1" else False
    return autograd_lite, {"version": autograd_lite.__version__, "allocator_tuned": tuned}


def _error(exc: BaseException) -> dict[str, str]:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return {"error": f"{type(exc).__name__}: {exc}", "traceback": "".join(lines)}


def serve(workload_name: str, framework: str, quick: bool, proto: Any) -> int:
    def send(message: dict[str, Any]) -> None:
        proto.write(json.dumps(message) + "\n")
        proto.flush()

    try:
        lib, info = _import_framework(framework)
        import_rss = peak_rss_mb()
        from benchmarks.workloads import get

        workload = get(workload_name)
        cfg = workload.config(quick)
        data = workload.make_data(cfg)
        runner = workload.numpy(cfg, data) if framework == "numpy" else workload.build(lib, cfg, data)
    except Exception as exc:  # reported to the parent, which shows it in the table
        send(_error(exc))
        return 1
    send({"ready": True, "import_rss_mb": import_rss, "info": info})
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            try:
                runner.reset()
                gc.collect()
                start = time.perf_counter()
                result = runner.run()
                seconds = time.perf_counter() - start
            except Exception as exc:
                send(_error(exc))
                continue
            send({"seconds": seconds, "result": result, "rss_mb": current_rss_mb()})
        elif command == "quit":
            send({"peak_rss_mb": peak_rss_mb()})
            return 0
        else:
            send({"error": f"worker: unknown command {command!r} (expected 'run' or 'quit')"})
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload")
    parser.add_argument("framework", choices=FRAMEWORKS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    # The protocol keeps the real stdout; fd 1 now points at stderr for everything else.
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return serve(args.workload, args.framework, args.quick, proto)


if __name__ == "__main__":
    raise SystemExit(main())
