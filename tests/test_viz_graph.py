"""draw_graph: the DOT it produces (structure, labels, styles, module frames), rendering
through Graphviz's `dot`, and the error when `dot` is missing."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import graphviz
import numpy as np
import pytest
from viz_helpers import label_text, parse_dot, squash

import autograd_lite as ag
from autograd_lite import nn, viz
from autograd_lite.viz._format import fmt_array
from autograd_lite.viz._record import Recording


def _by_label(parsed: dict, text: str) -> str:
    """The id of the one node whose label's first line is ``text``."""
    hits = [key for key, attrs in parsed["nodes"].items()
            if label_text(attrs).split("\n")[0].split(" ")[0] == text]
    assert len(hits) == 1, f"expected one node labelled {text!r}, found {hits}"
    return hits[0]


# ---------------------------------------------------------------------- structure and labels
def test_square_sum_graph_nodes_edges_values_and_gradients():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    g = viz.draw_graph(y, params={"x": x})
    parsed = parse_dot(g.source)
    nodes = parsed["nodes"]
    # one box per tensor (x, x*x, the sum) and one per op (mul, sum)
    assert len(nodes) == 5
    x_id = _by_label(parsed, "x")
    mul_id = _by_label(parsed, "mul")
    sum_id = _by_label(parsed, "sum")
    out_id = _by_label(parsed, "output")
    mid = next(k for k in nodes if k not in {x_id, mul_id, sum_id, out_id})
    edges = sorted((a, b) for a, b, _ in parsed["edges"])
    # data flows x -> mul (twice: x is both factors) -> x*x -> sum -> output
    assert edges == sorted([(x_id, mul_id), (x_id, mul_id), (mul_id, mid), (mid, sum_id), (sum_id, out_id)])
    x_label = squash(label_text(nodes[x_id]))
    assert "data[1,2,3]" in x_label
    assert "grad[2,4,6]" in x_label  # d/dx sum(x^2) = 2x, by hand
    assert "(3,)float32" in x_label
    out_label = squash(label_text(nodes[out_id]))
    assert "data14" in out_label  # 1 + 4 + 9


def test_intermediate_values_are_shown_while_the_graph_holds_its_inputs():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    parsed = parse_dot(viz.draw_graph(y, params={"x": x}).source)
    texts = [squash(label_text(a)) for a in parsed["nodes"].values()]
    assert any("data[1,4,9]" in t for t in texts), texts  # x*x, read from the sum node's inputs
    y.backward()  # frees the graph's inputs: the intermediate value is no longer known
    texts = [squash(label_text(a)) for a in parsed_after(y, x)["nodes"].values()]
    assert not any("[1,4,9]" in t for t in texts)


def parsed_after(y, x):
    return parse_dot(viz.draw_graph(y, params={"x": x}).source)


def test_recording_supplies_intermediate_values_and_gradients():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with Recording() as rec:
        h = x * x
        y = (h * 2.0).sum()
    with rec.capture_grads():
        y.backward()
    model = viz.build_graph(y, params={"x": x}, recording=rec)
    boxes = {op.title: model.tensors[op.output] for op in model.ops.values()}
    np.testing.assert_array_equal(boxes["mul"].value, [1, 4, 9])
    np.testing.assert_array_equal(boxes["mul"].grad, [2, 2, 2])  # d(sum(2h))/dh = 2
    np.testing.assert_array_equal(boxes["mul(·, 2)"].value, [2, 8, 18])
    np.testing.assert_array_equal(boxes["mul(·, 2)"].grad, [1, 1, 1])
    assert model.tensors[model.root].grad == 1
    # the capture hooks are gone again
    assert all(op.node.hooks is None for op in model.ops.values())


def test_op_labels_carry_attributes_and_constants():
    x = ag.ones(2, 3, requires_grad=True)
    y = x.sum(dim=1) * 0.5
    z = (y.sum(dim=0, keepdim=True) - 1.0) ** 2
    titles = sorted(op.title for op in viz.draw_graph(z).model.ops.values())
    assert titles == ["mul(·, 0.5)", "pow(·, 2)", "sub(·, 1)", "sum(dim=0, keepdim=True)", "sum(dim=1)"]
    source = viz.draw_graph(z).source
    assert 'label="sum(dim=1)"' in source


def test_bookkeeping_attributes_stay_off_the_labels():
    # cross-entropy keeps its softmax for the backward in an attribute named "saved": the
    # label shows what the user wrote (the reduction), not that slot
    x = ag.ones(4, 3, requires_grad=True)
    loss = ag.nn.functional.cross_entropy(x, ag.tensor([0, 1, 2, 0]), reduction="sum")
    titles = [op.title for op in viz.draw_graph(loss).model.ops.values()]
    assert titles == ["crossentropy(target=[0, 1, 2, 0], reduction='sum')"]
    assert "saved" not in viz.draw_graph(loss).source


def test_linear_is_one_op_with_named_inputs_and_a_left_out_bias_shows():
    x = ag.ones(2, 3)
    w = ag.ones(4, 3, requires_grad=True)
    b = ag.zeros(4, requires_grad=True)
    names = {"x": x, "w": w, "b": b}
    with_bias = viz.draw_graph(nn.functional.linear(x, w, b), params=names)
    without = viz.draw_graph(nn.functional.linear(x, w), params=names)
    assert [op.title for op in with_bias.model.ops.values()] == ["linear"]
    assert [op.title for op in without.model.ops.values()] == ["linear(bias=None)"]
    (op,) = without.model.ops.values()
    assert op.call(["x", "w"]) == "linear(x, w, bias=None)"
    for graph, expected in ((with_bias, {"x", "w", "b"}), (without, {"x", "w"})):
        parsed = parse_dot(graph.source)
        labels = {_by_label(parsed, name): name for name in expected}
        arrows = {(labels[a], label) for a, _, label in parsed["edges"] if a in labels}
        wanted = {("x", "label=x"), ("w", "label=weight"), ("b", "label=bias")}
        assert arrows == {pair for pair in wanted if pair[0] in expected}
    assert 'label="linear(bias=None)"' in without.source


def test_styles_distinguish_parameters_inputs_constants_and_output():
    w = ag.tensor([[1.0, 2.0]], requires_grad=True)
    a = ag.tensor([3.0, 4.0], requires_grad=True)  # a leaf that is not named as a parameter
    c = ag.tensor([0.5, 0.5])  # needs no gradient
    out = (w * a * c).sum()
    model = viz.draw_graph(out, params={"w": w, "c": c}).model
    kinds = {box.name: box.kind for box in model.tensors.values()}
    assert kinds["w"] == "parameter"
    assert kinds["c"] == "constant"
    assert kinds["output"] == "output"
    assert [b.kind for b in model.tensors.values() if b.name == "input1"] == ["input"]
    parsed = parse_dot(viz.draw_graph(out, params={"w": w, "c": c}).source)
    attrs = {label_text(v).split("\n")[0].split(" ")[0]: v for v in parsed["nodes"].values()}
    assert "dashed" in attrs["c"] and "dashed" not in attrs["w"]
    assert 'fillcolor="#dbe9ff"' in attrs["w"]
    assert "penwidth=2.2" in attrs["output"]
    fills = {attrs[name].split("fillcolor=")[1].split(" ")[0] for name in ("w", "c", "output", "input1")}
    assert len(fills) == 4


def test_large_tensors_are_summarised_small_ones_printed_in_full():
    big = ag.arange(100.0, requires_grad=True)
    out = (big * 1.0).sum()
    parsed = parse_dot(viz.draw_graph(out, params={"big": big}).source)
    text = squash(label_text(next(v for v in parsed["nodes"].values() if "big" in label_text(v))))
    # mean of 0..99 is 49.5; its population std is sqrt((100^2 - 1) / 12) = 28.866
    assert "mean=49.5" in text and "std=28.87" in text and "min=0" in text and "max=99" in text
    assert "[0," not in text
    parsed_full = parse_dot(viz.draw_graph(out, params={"big": big}, max_elements=100).source)
    full = squash(label_text(next(v for v in parsed_full["nodes"].values() if "big" in label_text(v))))
    assert "[0,1,2,3," in full and "mean=" not in full


def test_show_data_and_show_grad_switch_rows_off():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3.0).sum()
    y.backward()
    plain = viz.draw_graph(y, params={"x": x}, show_data=False, show_grad=False).source
    assert ">grad<" not in plain and ">data<" not in plain
    assert ">grad<" in viz.draw_graph(y, params={"x": x}).source


def test_unnamed_and_clashing_names_stay_unique():
    a = ag.tensor([1.0], requires_grad=True)
    b = ag.tensor([2.0], requires_grad=True)
    c = ag.tensor([3.0])
    d = ag.tensor([4.0])
    out = (a * b * c * d).sum()
    names = sorted(box.name for box in viz.build_graph(out).tensors.values())
    assert names == ["const1", "const2", "input1", "input2", "output", "t1", "t2", "t3"]
    t2 = ag.tensor([5.0], requires_grad=True)  # a user name that an intermediate would also get
    out = (t2 * 2.0 * 3.0).sum()
    names = sorted(box.name for box in viz.build_graph(out, params={"t2": t2}).tensors.values())
    assert len(set(names)) == len(names) == 4 and "t2" in names


def test_leaf_root_and_bad_rankdir():
    t = ag.tensor([1.0, 2.0])
    parsed = parse_dot(viz.draw_graph(t).source)
    assert len(parsed["nodes"]) == 1 and parsed["edges"] == []
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw_graph(t, rankdir="XY")


def test_autograd_function_nodes_are_drawn_with_their_class_name():
    class Cube(ag.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            return grad_out * 3 * x**2

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x).sum()
    model = viz.draw_graph(y, params={"x": x}).model
    assert sorted(op.title for op in model.ops.values()) == ["Cube", "sum"]


def test_very_long_chain_needs_no_recursion():
    x = ag.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    start = time.perf_counter()
    g = viz.draw_graph(y, params={"x": x})
    elapsed = time.perf_counter() - start
    assert len(g.model.ops) == 5000
    assert len(g.model.tensors) == 5001
    assert elapsed < 20, elapsed


# ---------------------------------------------------------------------- modules
def _mlp():
    ag.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))


def test_module_frames_and_parameter_names():
    model = _mlp()
    x = ag.tensor([[0.0, 1.0], [1.0, 0.0]])
    with Recording() as rec:
        loss = model(x).sum()
    g = viz.draw_graph(loss, params=model, recording=rec)
    parsed = parse_dot(g.source)
    names = {label_text(v).split("\n")[0].split(" ")[0]: k for k, v in parsed["nodes"].items()}
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert name in names
    clusters = parsed["clusters"]
    assert {"cluster_model", "cluster_0", "cluster_1", "cluster_2"} <= set(clusters)
    assert names["0.weight"] in clusters["cluster_0"] and names["2.bias"] in clusters["cluster_2"]
    layer0_ops = {op.key for op in g.model.ops.values() if op.module == "0"}
    assert [g.model.ops[k].title for k in layer0_ops] == ["linear"]  # one fused op per layer
    assert layer0_ops <= clusters["cluster_0"]
    (linear0,) = layer0_ops
    into = {(a, label) for a, b, label in parsed["edges"] if b == linear0}
    assert into == {(names["const1"], "label=x"),
                    (names["0.weight"], "label=weight"), (names["0.bias"], "label=bias")}
    sigmoid = next(op for op in g.model.ops.values() if op.title == "sigmoid")
    assert sigmoid.module == "1" and sigmoid.key in clusters["cluster_1"]
    # the final sum was computed outside the model: outside every frame
    total = next(op for op in g.model.ops.values() if op.title == "sum")
    assert total.key not in clusters["cluster_model"]
    assert 'label="0: Linear"' in g.source


def test_collapse_groups_a_modules_internals_into_one_node():
    model = _mlp()
    x = ag.tensor([[0.0, 1.0], [1.0, 0.0]])
    with Recording() as rec:
        loss = model(x).sum()
    parsed = parse_dot(viz.draw_graph(loss, params=model, recording=rec, collapse=True).source)
    nodes = parsed["nodes"]
    assert {"group_0", "group_1", "group_2"} <= set(nodes)
    labels = " ".join(label_text(v) for v in nodes.values())
    assert "linear" not in labels and "sigmoid" not in labels  # the internals are hidden
    assert "0.weight (3, 2)" in label_text(nodes["group_0"])
    x_id = next(k for k, v in nodes.items() if k.startswith("c"))
    edges = {(a, b) for a, b, _ in parsed["edges"]}
    chain = [x_id, "group_0"]
    assert (x_id, "group_0") in edges
    out_0 = next(b for a, b in edges if a == "group_0")
    assert (out_0, "group_1") in edges
    chain.append(out_0)
    # only named modules can be collapsed
    with pytest.raises(ValueError, match="modules in it are"):
        viz.draw_graph(loss, params=model, recording=rec, collapse=["nope"])
    only_first = parse_dot(viz.draw_graph(loss, params=model, recording=rec, collapse=["0"]).source)
    assert "group_0" in only_first["nodes"] and "group_2" not in only_first["nodes"]


def test_collapse_keeps_a_deep_model_small():
    ag.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(120)])
    with Recording() as rec:
        loss = model(ag.ones(1, 4)).sum()
    full = viz.draw_graph(loss, params=model, recording=rec)
    small = viz.draw_graph(loss, params=model, recording=rec, collapse=True)
    assert len(full.model.ops) == 121  # one linear per layer, and the sum
    parsed = parse_dot(small.source)
    assert sum(1 for k in parsed["nodes"] if k.startswith("group_")) == 120
    # 120 layer boxes, the 120 tensors between them (the last feeds the sum), the input, the
    # sum and its output: the parameters (240 boxes when drawn in full) are hidden inside
    assert len(parsed["nodes"]) == 120 + 120 + 1 + 1 + 1


# ---------------------------------------------------------------------- rendering
def test_render_svg_png_pdf_through_dot(dot_binary, tmp_path):
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    g = viz.draw_graph(y, params={"x": x})
    svg = g.render(tmp_path / "graph.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    svg_text = (tmp_path / "graph.svg").read_text()
    assert "grad" in svg_text and "mul" in svg_text
    assert (tmp_path / "graph.png").exists() is False
    png = g.render(tmp_path / "graph.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    pdf = g.render(tmp_path / "graph", format="pdf")
    assert open(pdf, "rb").read(5) == b"%PDF-"
    # Jupyter: the graph displays as SVG
    bundle = g._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]
    assert "<svg" in g._repr_svg_()


def test_missing_dot_explains_how_to_install_and_keeps_the_source(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere on PATH
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    g = viz.draw_graph(y, params={"x": x})
    with pytest.raises(viz.GraphvizNotFoundError) as caught:
        g.render(tmp_path / "graph.svg")
    message = str(caught.value)
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert "conda" in message and "graph.source" in message
    assert isinstance(caught.value, graphviz.ExecutableNotFound)
    with pytest.raises(viz.GraphvizNotFoundError):
        g.pipe(format="png")
    assert g.source.startswith("digraph")
    bundle = g._repr_mimebundle_()
    assert "apt-get install graphviz" in bundle["text/plain"] and "digraph" in bundle["text/plain"]


def test_labels_escape_html_special_characters():
    x = ag.tensor([1.0], requires_grad=True)
    y = x * 2.0
    g = viz.draw_graph(y, params={"<x & y>": x})
    assert "&lt;x &amp; y&gt;" in g.source
    assert label_text(parse_dot(g.source)["nodes"]["l1"]).startswith("<x & y>")


def test_fmt_array_prints_small_arrays_and_summaries():
    assert fmt_array(np.array([2.0, 4.0, 6.0])) == "[2, 4, 6]"
    assert fmt_array(np.float32(0.5)) == "0.5"
    assert fmt_array(np.array([1.0, np.nan] + [0.0] * 20)).endswith("non-finite=1")
