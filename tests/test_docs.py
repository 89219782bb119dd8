"""The documentation is tested: its code runs, its output is checked, its site builds.

* every Python block of README.md and docs/**/*.md runs (blocks of a page in order, in one
  namespace, in a temporary directory), and the printed output must equal the ```text
  block shown after it (scripts/docs_blocks.py has the rules);
* ``mkdocs build --strict`` passes (no warning at all), and the API reference is
  generated from the docstrings;
* the compatibility tables in docs/pytorch-compat.md equal what the code gives now,
  and every PyTorch counterpart they name exists;
* every picture the docs show exists and is made by scripts/make_doc_images.py.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest
from conftest import IN_CI, require

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

import docs_blocks  # noqa: E402
import gen_compat_table  # noqa: E402

PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _require_page(page: docs_blocks.Page) -> None:
    for name in page.requires:
        if name == "dot":
            require(shutil.which("dot") is not None, f"{page.path} needs Graphviz's `dot` (apt-get install graphviz)")
        else:
            require(_has_module(name), f"{page.path} needs the optional module {name!r}")


@pytest.fixture
def restore_globals():
    """Pages may register demo primitives or change global settings: undo that afterwards."""
    import autograd_lite as ag
    from autograd_lite.autograd import grad_mode
    from autograd_lite.ops import primitive

    registry = dict(primitive.REGISTRY)
    observers = list(primitive.observers)
    enabled = grad_mode.is_grad_enabled()
    anomaly = ag.autograd.is_anomaly_enabled()
    yield
    primitive.REGISTRY.clear()
    primitive.REGISTRY.update(registry)
    primitive.observers[:] = observers
    ag.set_grad_enabled(enabled)
    ag.autograd.set_detect_anomaly(anomaly)


# ---------------------------------------------------------------------- the pages' code
@pytest.mark.parametrize("path", PAGES, ids=_page_id)
def test_page_code_blocks_run_and_print_what_is_shown(path, tmp_path, monkeypatch, restore_globals):
    page = docs_blocks.parse_file(path, ROOT)
    _require_page(page)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    docs_blocks.run_page(page)


def test_docs_have_checked_output_and_few_unrun_blocks():
    """The docs show printed output under their code, and hardly any block is exempt from running."""
    pages = [docs_blocks.parse_file(path, ROOT) for path in PAGES]
    python_blocks = [b for page in pages for b in page.blocks if b.lang in docs_blocks.PYTHON_LANGS]
    not_run = [f"{b.path}:{b.line}" for b in python_blocks if not b.runs]
    checked = [b for b in python_blocks if b.runs and b.expected is not None]
    assert len(python_blocks) >= 60, f"only {len(python_blocks)} Python blocks in the docs"
    assert len(not_run) <= 3, f"too many ```python {{.no-run}} blocks: {not_run}"
    assert len(checked) >= 0.6 * len(python_blocks), "most Python blocks should show their output"
    empty = [f"{b.path}:{b.expected_line}" for b in checked if not b.expected.strip()]
    assert not empty, f"empty expected-output blocks (fill them with the real output): {empty}"


def test_every_tutorial_page_runs_code():
    for path in sorted((DOCS / "tutorial").glob("*.md")):
        if path.name == "index.md":
            continue
        page = docs_blocks.parse_file(path, ROOT)
        assert len(page.runnable) >= 3, f"{path.name} has too little runnable code"


def test_readme_xor_block_is_the_real_10000_step_run():
    page = docs_blocks.parse_file(ROOT / "README.md", ROOT)
    xor = [b for b in page.runnable if "range(10_000)" in b.code]
    assert len(xor) == 1 and xor[0].expected is not None
    assert xor[0].expected.strip().startswith("loss ")


# ---------------------------------------------------------------------- the runner itself
def test_runner_compares_output_and_reports_the_page_line():
    text = (
        "intro\n\n```python\nprint(1 + 1)\n```\n\n```text\n2\n```\n\n"
        "```python\nx = 5\nprint(x)\n```\n\n```output\n6\n```\n"
    )
    page = docs_blocks.parse(text, "demo.md")
    assert [b.expected for b in page.runnable] == ["2\n", "6\n"]
    with pytest.raises(docs_blocks.DocsBlockError, match=r"demo\.md:11: the output shown at line 16") as info:
        docs_blocks.run_page(page)
    assert "-6" in str(info.value) and "+5" in str(info.value)


def test_runner_shares_a_namespace_and_skips_no_run_blocks():
    text = (
        "```python\nvalue = 41\n```\n\n```python {.no-run}\nraise SystemExit('never runs')\n```\n\n"
        "```python\nprint(value + 1)\n```\n\n```text\n42\n```\n"
    )
    page = docs_blocks.parse(text, "demo.md")
    assert [b.runs for b in page.blocks if b.lang == "python"] == [True, False, True]
    namespace = docs_blocks.run_page(page)
    assert namespace["value"] == 41


def test_runner_errors_point_at_the_markdown_line():
    text = "line 1\n\n```python\nx = 1\nraise ValueError('boom')\n```\n"
    page = docs_blocks.parse(text, "broken.md")
    with pytest.raises(docs_blocks.DocsBlockError, match=r"broken\.md:3: this Python block raised ValueError: boom"):
        docs_blocks.run_page(page)
    try:
        docs_blocks.run_page(page)
    except docs_blocks.DocsBlockError as error:
        frames = traceback.extract_tb(error.__cause__.__traceback__)
        frames = [f for f in frames if f.filename == "broken.md"]
        assert frames[-1].lineno == 5  # the line of the raise, counted in the Markdown file


def test_output_matching_rules():
    assert docs_blocks.output_matches("a\nb  \n\n", "a  \nb\n")
    assert not docs_blocks.output_matches("a\nb\n", "a\nc\n")
    assert not docs_blocks.output_matches("a\n", "a\nb\n")
    assert docs_blocks.output_matches("start\n...\nend\n", "start\n1\n2\n3\nend\n")
    assert docs_blocks.output_matches("start\n...\nend\n", "start\nend\n")
    assert not docs_blocks.output_matches("start\n...\nend\n", "start\n1\n")


def test_runner_reads_requirements_and_rejects_unclosed_blocks():
    page = docs_blocks.parse("<!-- docs-requires: torch, dot -->\n\n```python\npass\n```\n", "x.md")
    assert page.requires == ["torch", "dot"]
    with pytest.raises(docs_blocks.DocsBlockError, match="never closed"):
        docs_blocks.parse("```python\nprint(1)\n", "open.md")


# ---------------------------------------------------------------------- the site
def test_mkdocs_build_strict(tmp_path):
    require(_has_module("mkdocs") and _has_module("mkdocstrings") and _has_module("material"),
            "mkdocs, mkdocs-material and mkdocstrings[python] are not installed (pip install -e '.[docs]')")
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONWARNINGS="ignore")
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )
    seconds = time.perf_counter() - start
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{log[-6000:]}"
    warnings = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not warnings, "\n".join(warnings)
    # The API reference really is generated from the docstrings.
    api = {
        "api/tensor/index.html": ["autograd_lite.Tensor.requires_grad_", "autograd_lite._tensor_methods.backward",
                                  "autograd_lite.factories.randn"],
        "api/nn/index.html": ["autograd_lite.nn.Module.state_dict", "autograd_lite.nn.linear.Linear"],
        "api/optim/index.html": ["autograd_lite.optim.SGD", "autograd_lite.optim.lr_scheduler.StepLR"],
        "api/viz/index.html": ["autograd_lite.viz.draw_graph", "autograd_lite.viz.explain"],
        "api/testing/index.html": ["autograd_lite.testing.check_gradients"],
        "api/internals/index.html": ["autograd_lite.autograd.engine._run", "autograd_lite._broadcast.unbroadcast"],
    }
    for page, anchors in api.items():
        html = (site / page).read_text(encoding="utf-8")
        for anchor in anchors:
            assert f'id="{anchor}"' in html, f"{page} has no generated entry {anchor}"
    from autograd_lite.ops.primitive import REGISTRY

    ops_html = (site / "api/ops/index.html").read_text(encoding="utf-8")
    for prim in REGISTRY.values():  # every primitive's source is on the ops page (the tables link there)
        assert f'id="{prim.__module__}.{prim.__name__}"' in ops_html, f"{prim.__name__} is not on api/ops"
    linear_doc = (site / "api/nn/index.html").read_text(encoding="utf-8")
    assert "Applies an affine" in linear_doc or "x @ weight" in linear_doc or "in_features" in linear_doc
    # Docstring sessions are rendered as code, not as Markdown block quotes.
    assert "<blockquote>" not in (site / "api/tensor/index.html").read_text(encoding="utf-8")
    for picture in ("images/xor_step.png", "images/xor_film.html", "images/gradient_flow.png"):
        assert (site / picture).exists()
    if not IN_CI:
        assert seconds < 120, f"mkdocs build took {seconds:.0f} s"


def test_every_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for path in DOCS.rglob("*.md"):
        assert str(path.relative_to(DOCS)) in nav, f"{path} is not in mkdocs.yml's nav"


# ---------------------------------------------------------------------- compatibility tables
def test_compat_tables_are_up_to_date():
    committed = gen_compat_table.PAGE.read_text(encoding="utf-8")
    fresh = gen_compat_table.render_page(committed)
    if fresh != committed:
        import difflib

        diff = "\n".join(list(difflib.unified_diff(committed.splitlines(), fresh.splitlines(), "committed",
                                                   "from the code now", lineterm=""))[:60])
        pytest.fail(f"docs/pytorch-compat.md is out of date: run `python scripts/gen_compat_table.py`\n{diff}")


def test_compat_tables_cover_the_code():
    import autograd_lite as ag
    from autograd_lite.ops.primitive import REGISTRY

    table = gen_compat_table.generate()
    for name in REGISTRY:
        assert f"| `{name}` |" in table
    for name in ("nn.Linear(", "nn.Conv2d(", "nn.LSTM(", "nn.CrossEntropyLoss(", "optim.Adam(", "optim.SGD(",
                 "lr_scheduler.StepLR(", "F.cross_entropy(", "ag.tensor(", "DataLoader("):
        assert f"`{name}" in table, name
    for name in [n for n in dir(ag.nn) if n[0].isupper() and isinstance(getattr(ag.nn, n), type)]:
        assert f"`nn.{name}(" in table, f"nn.{name} is missing from the table"


def test_compat_table_counterparts_exist_in_pytorch(torch):
    import importlib

    def resolve(name):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable prefix, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
            return obj
        raise ImportError(name)

    require(_has_module("safetensors"), "safetensors is not installed (pip install -e '.[safetensors]')")
    missing = []
    for name in gen_compat_table.counterparts():
        try:
            resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert not missing, (
        f"the tables name PyTorch counterparts that do not exist: {missing}; "
        "add them to COUNTERPART in scripts/gen_compat_table.py"
    )


def test_compat_check_mode_detects_a_stale_table(tmp_path, monkeypatch):
    page = tmp_path / "pytorch-compat.md"
    fresh = gen_compat_table.render_page(gen_compat_table.PAGE.read_text(encoding="utf-8"))
    monkeypatch.setattr(gen_compat_table, "PAGE", page)
    monkeypatch.setattr(gen_compat_table, "ROOT", tmp_path)
    page.write_text(fresh, encoding="utf-8")
    assert gen_compat_table.main(["--check"]) == 0
    page.write_text(fresh.replace("| `add` |", "| `addition` |"), encoding="utf-8")
    assert gen_compat_table.main(["--check"]) == 1
    assert gen_compat_table.main([]) == 0  # rewrites it
    assert page.read_text(encoding="utf-8") == fresh


# ---------------------------------------------------------------------- pictures
_IMAGE_LINK = re.compile(r"\]\(((?:\.\./)*(?:docs/)?images/[^)\s]+)\)")


def test_every_picture_exists_and_comes_from_the_script():
    spec = importlib.util.spec_from_file_location("make_doc_images", SCRIPTS / "make_doc_images.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    referenced = set()
    for path in PAGES:
        for link in _IMAGE_LINK.findall(path.read_text(encoding="utf-8")):
            target = (path.parent / link).resolve()
            assert target.parent == (DOCS / "images").resolve(), f"{path.name}: {link} is not in docs/images"
            assert target.exists(), f"{path.name} shows {link}, which does not exist"
            referenced.add(target.name)
    assert referenced, "no pictures found"
    not_made = sorted(referenced - set(script.MANIFEST))
    assert not not_made, f"pictures not made by scripts/make_doc_images.py: {not_made}"
    stray = sorted(p.name for p in (DOCS / "images").iterdir() if p.name not in script.MANIFEST)
    assert not stray, f"files in docs/images that the script does not make: {stray}"
    unused = sorted(set(script.MANIFEST) - referenced - {"xor_step.svg"})
    assert not unused, f"pictures made but never shown: {unused}"
