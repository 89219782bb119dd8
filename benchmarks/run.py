"""Run the benchmark suite: autograd_lite vs PyTorch eager vs a hand-derived NumPy reference.

    python -m benchmarks [--quick] [--only NAME[,NAME]] [--markdown PATH] [--json PATH]

For each workload, one worker process per framework is started (so each peak RSS
belongs to one framework alone) and the repetitions are interleaved: one run of
autograd_lite, one of PyTorch, one of NumPy, then again in another order (every permutation
in turn), so that drifts in machine load hit all three alike, with a short pause before each
run of a BLAS-heavy workload so that one framework's spinning BLAS threads do not slow down
the next. One untimed
warm-up run comes first.
The table shows the median time of a run divided by the work it did (per step, per op,
...), the ratios autograd_lite / PyTorch and autograd_lite / NumPy (both as time ratios,
so below 1 means autograd_lite is faster, also for tokens/s), the peak RSS of each worker
with its import baseline, and whether all three reached the same final numbers.

The exit status is non-zero when a workload fails for autograd_lite or the NumPy
reference (or for PyTorch when it is installed), or when the final numbers disagree.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python benchmarks/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.workloads import NAMES, Workload, get  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("autograd_lite", "torch", "numpy")
#: environment variables that change BLAS kernels or thread counts, reported with the results
ENV_VARS = (
    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
)
#: seconds a worker may take to answer one request before it is killed
WORKER_TIMEOUT = 1800.0


# ---------------------------------------------------------------------------------- workers
class WorkerError(RuntimeError):
    """A worker process failed: an exception in the workload, a crash, or a timeout."""


class Worker:
    """The parent's handle on one ``benchmarks.worker`` process."""

    def __init__(self, workload: str, framework: str, quick: bool, threads: int | None = None) -> None:
        self.framework = framework
        self.stderr = tempfile.TemporaryFile(mode="w+")
        env = dict(os.environ)
        if threads is not None:  # read by OpenBLAS, MKL and PyTorch's OpenMP pool at start-up
            for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env[name] = str(threads)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "benchmarks.worker", workload, framework]
        if quick:
            command.append("--quick")
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            text=True, cwd=REPO_ROOT, env=env,
        )

    def _stderr_tail(self, lines: int = 15) -> str:
        self.stderr.seek(0)
        return "".join(self.stderr.readlines()[-lines:])

    def receive(self, timeout: float = WORKER_TIMEOUT) -> dict[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            self.close()
            raise WorkerError(f"no answer within {timeout:.0f} s; the worker was killed")
        line = stdout.readline()
        if not line:
            code = self.process.wait()
            raise WorkerError(f"the worker process died (exit status {code}):\n{self._stderr_tail()}")
        message = json.loads(line)
        if "error" in message:
            raise WorkerError(message["error"] + "\n" + message.get("traceback", ""))
        return message

    def request(self, command: str) -> dict[str, Any]:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(command + "\n")
            stdin.flush()
        except BrokenPipeError as exc:
            code = self.process.wait()
            message = f"the worker process died (exit status {code}):\n{self._stderr_tail()}"
            raise WorkerError(message) from exc
        return self.receive()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.stderr.close()


def _fresh_entry(framework: str) -> dict[str, Any]:
    return {
        "framework": framework, "status": "ok", "error": None, "seconds": [], "results": [],
        "rss_mb": [], "import_rss_mb": None, "peak_rss_mb": None, "info": {},
    }


def run_orders(frameworks: list[str], rounds: int) -> list[list[str]]:
    """The order of the frameworks in each round: every permutation in turn, so that each
    framework runs right after each other one equally often (a plain rotation would always
    put the same framework after the same neighbour)."""
    permutations = [list(p) for p in itertools.permutations(frameworks)] or [[]]
    return [permutations[r % len(permutations)] for r in range(rounds)]


def run_workload(
    workload: Workload, frameworks: list[str], quick: bool, reps: int, warmup: int, log: Any,
    threads: int | None = None, settle: float = 0.0,
) -> dict[str, Any]:
    """Run one workload for every framework, interleaved; return its raw measurements.

    ``settle`` seconds pass before each run of a workload with ``blas_threads``: BLAS and
    OpenMP worker threads keep spinning on the cores for a while after a run (OpenBLAS about
    2**28 cycles), and without the pause they would slow down whichever framework runs next.
    """
    cfg = workload.config(quick)
    entries = {fw: _fresh_entry(fw) for fw in frameworks}
    workers: dict[str, Worker] = {}
    for fw in frameworks:  # start them together: the imports overlap, nothing is timed yet
        workers[fw] = Worker(workload.name, fw, quick, threads)
    try:
        for fw in frameworks:
            try:
                ready = workers[fw].receive()
                entries[fw]["import_rss_mb"] = ready["import_rss_mb"]
                entries[fw]["info"] = ready["info"]
            except WorkerError as exc:
                _fail(entries[fw], exc, workers.pop(fw), log, workload.name)
        for rep, order in enumerate(run_orders(frameworks, warmup + reps)):
            for fw in order:
                if fw not in workers:
                    continue
                if settle and workload.blas_threads:
                    time.sleep(settle)
                try:
                    answer = workers[fw].request("run")
                except WorkerError as exc:
                    _fail(entries[fw], exc, workers.pop(fw), log, workload.name)
                    continue
                entries[fw]["results"].append(answer["result"])
                entries[fw]["rss_mb"].append(answer["rss_mb"])
                if rep >= warmup:
                    entries[fw]["seconds"].append(answer["seconds"])
        for fw, worker in list(workers.items()):
            try:
                entries[fw]["peak_rss_mb"] = worker.request("quit")["peak_rss_mb"]
            except WorkerError as exc:
                _fail(entries[fw], exc, worker, log, workload.name)
    finally:
        for worker in workers.values():
            worker.close()
    for entry in entries.values():
        if entry["status"] == "ok" and entry["seconds"]:
            entry["median_s"] = statistics.median(entry["seconds"])
            entry["figure"] = workload.display(entry["median_s"], cfg)
    return {
        "name": workload.name, "description": workload.description, "unit": workload.unit,
        "target": workload.target, "rtol": workload.rtol, "config": cfg, "units_per_run": workload.units(cfg),
        "frameworks": entries,
    }


def _fail(entry: dict[str, Any], exc: Exception, worker: Worker, log: Any, name: str) -> None:
    entry["status"] = "failed"
    entry["error"] = str(exc).strip()
    worker.close()
    first_line = entry["error"].splitlines()[0] if entry["error"] else "failed"
    print(f"  {name}: {entry['framework']} FAILED: {first_line}", file=log, flush=True)


# ---------------------------------------------------------------------------------- analysis
def compare(report: dict[str, Any]) -> None:
    """Add ratios and the agreement check of the final numbers to one workload's report."""
    entries = report["frameworks"]

    def median(fw: str) -> float | None:
        entry = entries.get(fw)
        return entry.get("median_s") if entry and entry["status"] == "ok" else None

    ag, torch, ref = median("autograd_lite"), median("torch"), median("numpy")
    report["ratio_torch"] = ag / torch if ag and torch else None
    report["ratio_numpy"] = ag / ref if ag and ref else None
    report["ratio_torch_numpy"] = torch / ref if torch and ref else None
    report["target_met"] = report["ratio_torch"] <= report["target"] if report["ratio_torch"] else None

    finals = {fw: e["results"][-1] for fw, e in entries.items() if e["status"] == "ok" and e["results"]}
    reference = "numpy" if "numpy" in finals else ("torch" if "torch" in finals else None)
    report["agreement_reference"] = reference
    report["compared"] = [fw for fw in FRAMEWORKS if fw in finals]
    report["max_rel_diff"] = None
    report["agree"] = None
    if reference is None or len(finals) < 2:
        return
    worst = 0.0
    for result in finals.values():
        for key, expected in finals[reference].items():
            got = result.get(key)
            if got is None:
                worst = float("inf")
                continue
            diff = abs(got - expected) / max(abs(expected), 1e-300)
            worst = max(worst, diff if diff == diff else float("inf"))
    report["max_rel_diff"] = worst
    report["agree"] = worst <= report["rtol"]


# ---------------------------------------------------------------------------------- machine
def machine_info() -> dict[str, Any]:
    """The CPU, core count, library versions and the BLAS NumPy runs on."""
    import numpy as np

    info: dict[str, Any] = {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "torch": _torch_version(),
        "env": {k: os.environ.get(k) for k in ENV_VARS},
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for pool in threadpool_info() if pool.get("user_api") == "blas"
        ]
    except ImportError:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        info["blas"] = [{"internal_api": blas.get("name"), "version": blas.get("version")}]
    return info


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _torch_version() -> str | None:
    if importlib.util.find_spec("torch") is None:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "unknown"


def describe_machine(info: dict[str, Any]) -> list[str]:
    blas = "; ".join(
        f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture', '?')} kernels, "
        f"{b.get('num_threads', '?')} threads)" for b in info.get("blas", [])
    ) or "unknown"
    lines = [
        f"CPU: {info['cpu']}, {info['cores']} cores; Python {info['python']}; NumPy {info['numpy']}; "
        f"PyTorch {info['torch'] or 'not installed'}",
        f"NumPy BLAS: {blas}",
    ]
    set_vars = {k: v for k, v in info["env"].items() if v is not None}
    shown = ", ".join(f"{k}={v}" for k, v in set_vars.items()) or "no BLAS/thread variables set"
    lines.append("Environment: " + shown)
    return lines


# ---------------------------------------------------------------------------------- tables
def _figure(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.1f}"
    return f"{value:.4g}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _cell(report: dict[str, Any], fw: str) -> str:
    entry = report["frameworks"].get(fw)
    if entry is None:
        return "not run"
    if entry["status"] != "ok":
        return "FAILED"
    return _figure(entry.get("figure"))


def _mem(report: dict[str, Any], fw: str) -> str:
    entry = report["frameworks"].get(fw)
    if entry is None or entry["peak_rss_mb"] is None:
        return "-"
    return f"{entry['peak_rss_mb']:.0f} ({entry['import_rss_mb']:.0f})"


def _growth(report: dict[str, Any], fw: str) -> str:
    entry = report["frameworks"].get(fw)
    if entry is None or len(entry["rss_mb"]) < 2:
        return "-"
    return f"{entry['rss_mb'][-1] - entry['rss_mb'][0]:+.1f}"


def tables(reports: list[dict[str, Any]]) -> list[tuple[list[str], list[list[str]]]]:
    """The three tables (time, memory, agreement) as header + rows of strings."""
    time_rows = []
    mem_rows = []
    agree_rows = []
    for r in reports:
        met = {True: "yes", False: "no", None: "-"}[r["target_met"]]
        time_rows.append([
            r["name"], r["unit"], _cell(r, "autograd_lite"), _cell(r, "torch"), _cell(r, "numpy"),
            _ratio(r["ratio_torch"]), _ratio(r["ratio_numpy"]), _ratio(r["ratio_torch_numpy"]),
            f"<= {r['target']}", met,
        ])
        mem_rows.append([
            r["name"], _mem(r, "autograd_lite"), _mem(r, "torch"), _mem(r, "numpy"),
            _growth(r, "autograd_lite"), _growth(r, "torch"),
        ])
        finals = {
            fw: e["results"][-1].get("loss") for fw, e in r["frameworks"].items()
            if e["status"] == "ok" and e["results"]
        }
        agree = {True: "yes", False: "NO", None: "-"}[r["agree"]]
        if r["agree"] is not None and len(r["compared"]) < len(r["frameworks"]):
            agree += " (only " + " & ".join(r["compared"]) + ")"
        diff = "-" if r["max_rel_diff"] is None else f"{r['max_rel_diff']:.1e}"
        agree_rows.append([
            r["name"], *(f"{finals[fw]:.10g}" if fw in finals else "-" for fw in FRAMEWORKS),
            diff, f"{r['rtol']:.0e}", agree,
        ])
    return [
        (["workload", "unit", "autograd_lite", "PyTorch", "NumPy ref", "ag/torch", "ag/NumPy", "torch/NumPy",
          "target", "met"], time_rows),
        (["workload", "autograd_lite peak MB (import)", "PyTorch peak MB (import)", "NumPy peak MB (import)",
          "ag RSS drift MB", "torch RSS drift MB"], mem_rows),
        (["workload", "final loss ag", "final loss torch", "final loss NumPy", "max rel diff", "rtol",
          "agree"], agree_rows),
    ]


TABLE_NOTES = (
    "Times are medians over the timed runs; ratios are time ratios (below 1: autograd_lite is faster), "
    "for tokens/s too. Peak MB is the worker's getrusage max RSS (in parentheses: right after importing "
    "its framework). RSS drift: resident memory after the last run minus after the first. 'max rel diff' "
    "compares every framework's final loss and final weight (or gradient) norm with the NumPy reference."
)


def format_text(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(lines)


def format_markdown(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def markdown_document(reports: list[dict[str, Any]], info: dict[str, Any], settings: dict[str, Any]) -> str:
    parts = [f"- {line}" for line in describe_machine(info)]
    threads = "default threads" if settings["threads"] is None else f"{settings['threads']} thread(s) per worker"
    parts.append(f"- Run: {settings['when']}, {settings['mode']}, {settings['reps']} timed runs after "
                 f"{settings['warmup']} warm-up, interleaved (every order in turn, "
                 f"{settings.get('settle', 0)} s pause before each run of mlp, cnn and char_rnn), {threads}.\n")
    for headers, rows in tables(reports):
        parts.append(format_markdown(headers, rows) + "\n")
    parts.append(TABLE_NOTES)
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="autograd_lite vs PyTorch eager vs hand-derived NumPy.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="every workload at a tiny size, one run each (for the test suite)")
    parser.add_argument("--only", default=None, help=f"comma-separated workloads out of: {', '.join(NAMES)}")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help="comma-separated frameworks to run (default: all three)")
    parser.add_argument("--reps", type=int, default=None,
                        help="timed runs per framework (default: the workload's own, 1 with --quick)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed runs first (default 1, 0 with --quick)")
    parser.add_argument("--threads", type=int, default=None,
                        help="set OMP/OPENBLAS/MKL_NUM_THREADS in every worker (default: leave them as they are)")
    parser.add_argument("--settle", type=float, default=None,
                        help="seconds of pause before each run of a BLAS-heavy workload (mlp, cnn, "
                             "char_rnn), for spinning BLAS threads to sleep (default 0.3, 0 with --quick)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the tables as Markdown")
    parser.add_argument("--json", metavar="PATH", help="also write every measurement as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = list(NAMES) if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        print(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}", file=sys.stderr)
        return 2
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    bad = [f for f in frameworks if f not in FRAMEWORKS]
    if bad or not frameworks:
        print(f"unknown framework(s) {', '.join(bad)}; choose from {', '.join(FRAMEWORKS)}", file=sys.stderr)
        return 2
    if args.threads is not None:  # the workers get the env variables; show the same in the header
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(args.threads)
        except ImportError:
            pass
    info = machine_info()
    torch_missing = "torch" in frameworks and info["torch"] is None
    if torch_missing:
        frameworks.remove("torch")
    warmup = args.warmup if args.warmup is not None else (0 if args.quick else 1)
    settle = args.settle if args.settle is not None else (0.0 if args.quick else 0.3)
    for line in describe_machine(info):
        print(line)
    if torch_missing:
        print("PyTorch is not installed: its columns stay empty. Install it with "
              "pip install -e '.[torch]' (torch==2.13.0) to compare against it.")
    elif info["torch"] is not None and "torch" in frameworks and not info["torch"].startswith("2.13.0"):
        print(f"note: PyTorch {info['torch']} is installed; the targets were set against torch==2.13.0")
    mode = "quick" if args.quick else "full"
    print(f"Running {', '.join(names)} for {', '.join(frameworks)} ({mode} mode)", flush=True)

    reports = []
    for name in names:
        workload = get(name)
        reps = args.reps if args.reps is not None else (1 if args.quick else workload.reps)
        started = time.perf_counter()
        report = run_workload(workload, frameworks, args.quick, reps, warmup, sys.stdout, args.threads, settle)
        compare(report)
        report["reps"], report["warmup"] = reps, warmup
        reports.append(report)
        print(f"  {name}: done in {time.perf_counter() - started:.1f} s", flush=True)

    print()
    for headers, rows in tables(reports):
        print(format_text(headers, rows))
        print()
    print(TABLE_NOTES)

    failures = []
    for r in reports:
        for fw, entry in r["frameworks"].items():
            if entry["status"] != "ok":
                failures.append(f"{r['name']} / {fw}: {entry['error']}")
        if r["agree"] is False:
            finals = {fw: e["results"][-1] for fw, e in r["frameworks"].items() if e["results"]}
            failures.append(f"{r['name']}: the final numbers disagree (max rel diff "
                            f"{r['max_rel_diff']:.2e} > rtol {r['rtol']:.0e}): {json.dumps(finals)}")
    agreeing = [r["name"] for r in reports if r["agree"]]
    print(f"\nFinal losses agree across frameworks for: {', '.join(agreeing) or 'none'}")

    settings = {
        "when": time.strftime("%Y-%m-%d %H:%M"), "mode": "quick" if args.quick else "full",
        "reps": args.reps if args.reps is not None else ("1" if args.quick else "per-workload default"),
        "warmup": warmup, "frameworks": frameworks, "torch_missing": torch_missing, "threads": args.threads,
        "settle": settle,
    }
    if args.markdown:
        Path(args.markdown).write_text(markdown_document(reports, info, settings), encoding="utf-8")
    if args.json:
        payload = {"machine": info, "settings": settings, "workloads": reports, "failures": failures}
        Path(args.json).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    if failures:
        print("\nFAILURES:", file=sys.stderr)
        for failure in failures:
            print("- " + failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
