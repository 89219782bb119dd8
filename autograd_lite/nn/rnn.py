"""Recurrent layers: RNN (tanh / relu), LSTM and GRU, and their single-step cells.

Parameter names, shapes, gate orders and initialisation are PyTorch's, so state dicts move
between the two libraries unchanged:

* ``weight_ih_l{k}`` ``(G * hidden, input)``, ``weight_hh_l{k}`` ``(G * hidden, hidden)``,
  ``bias_ih_l{k}``, ``bias_hh_l{k}`` ``(G * hidden,)``; ``_reverse`` for the backward
  direction; G = 1 (RNN), 4 (LSTM: gates i, f, g, o), 3 (GRU: gates r, z, n);
* every parameter ~ U(-1/sqrt(hidden), 1/sqrt(hidden)).

The recurrences (``*`` is elementwise, sigma the logistic sigmoid):

* RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh)
* LSTM: i, f, g, o = sigma, sigma, tanh, sigma of the four blocks of W_ih x + b_ih + W_hh h + b_hh;
  c' = f * c + i * g;  h' = o * tanh(c')
* GRU:  r, z = sigma of the first two blocks of (W_ih x + b_ih) + (W_hh h + b_hh);
  n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h' = (1 - z) * n + z * h

The layers run each direction of each layer as one
:class:`~autograd_lite.ops.recurrent.Recurrent` node (the whole time loop in NumPy, with
backpropagation through time as its VJP); the cells are composites of matmul and
elementwise primitives. Both differentiate to any order.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import functional as _F
from .._dtype import as_dtype, get_default_dtype
from ..ops._fastpath import unary
from ..ops.elementwise import Relu, Sigmoid, Tanh
from ..ops.linalg import Linear as LinearPrimitive
from ..ops.linalg import Matmul
from ..ops.primitive import apply
from ..ops.recurrent import Recurrent
from ..ops.shape import _BasicGetItem
from ..tensor import Tensor, as_tensor
from . import init
from ._functional_basic import dropout
from .module import Module, Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _columns(x: Tensor, start: int, stop: int) -> Tensor:
    """x[:, start:stop] as a view."""
    return unary(_BasicGetItem, x, {"index": (slice(None), slice(start, stop))})


def _affine(x: Tensor, weight_t: Tensor, bias: Tensor | None) -> Tensor:
    out = apply(Matmul, (x, weight_t))
    return out if bias is None else out + bias


def _rnn_step(mode: str, x_proj: Tensor, h: Tensor, c: Tensor | None, w_hh_t: Tensor,
              b_hh: Tensor | None, hidden: int) -> tuple[Tensor, Tensor | None]:
    """One time step given the input projection ``x_proj = x W_ih^T (+ biases)``."""
    if mode == "GRU":
        h_proj = _affine(h, w_hh_t, b_hh)
        rz = unary(Sigmoid, _columns(x_proj, 0, 2 * hidden) + _columns(h_proj, 0, 2 * hidden))
        r, z = _columns(rz, 0, hidden), _columns(rz, hidden, 2 * hidden)
        n = unary(Tanh, _columns(x_proj, 2 * hidden, 3 * hidden) + r * _columns(h_proj, 2 * hidden, 3 * hidden))
        return n + z * (h - n), None
    pre = x_proj + apply(Matmul, (h, w_hh_t))
    if mode == "RNN_TANH":
        return unary(Tanh, pre), None
    if mode == "RNN_RELU":
        return unary(Relu, pre), None
    # LSTM: one sigmoid over all four blocks (the g block's is unused) is cheaper than three
    gates = unary(Sigmoid, pre)
    i, f, o = _columns(gates, 0, hidden), _columns(gates, hidden, 2 * hidden), _columns(gates, 3 * hidden, 4 * hidden)
    g = unary(Tanh, _columns(pre, 2 * hidden, 3 * hidden))
    c = f * c + i * g
    return o * unary(Tanh, c), c


def _check_hidden(h: Tensor, shape: tuple, name: str, op: str) -> None:
    if tuple(h.shape) != shape:
        raise RuntimeError(f"{op}: expected {name} of shape {shape}, got {tuple(h.shape)}")


class RNNBase(Module):
    """The machinery RNN, LSTM and GRU share: parameters, initialisation, the layer loop."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if not isinstance(hidden_size, (int, np.integer)) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive integer, got {hidden_size!r}")
        if not isinstance(num_layers, (int, np.integer)) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive integer, got {num_layers!r}")
        if isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1], got {dropout!r}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size is not supported")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{name}: dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and num_layers=1",
                stacklevel=2,
            )
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * self.hidden_size
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        self._flat_weights_names: list[str] = []
        for layer in range(self.num_layers):
            layer_input = input_size if layer == 0 else self.hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes: list[tuple[str, tuple[int, ...]]] = [
                    ("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, self.hidden_size)),
                ]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for kind, shape in shapes:
                    setattr(self, kind + suffix, Parameter(Tensor._wrap(np.empty(shape, dtype=dt))))
                    self._flat_weights_names.append(kind + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), in registration order."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _layer_params(self, layer: int, direction: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        params = self._parameters
        return (params["weight_ih" + suffix], params["weight_hh" + suffix],  # type: ignore[return-value]
                params.get("bias_ih" + suffix), params.get("bias_hh" + suffix))

    def _run_direction(self, x: Tensor, h: Tensor, c: Tensor | None, layer: int, direction: int
                       ) -> tuple[Tensor, Tensor, Tensor | None]:
        """One layer in one direction over the whole sequence x ``(T, B, In)``: the input
        projection for all steps in one matmul, then the time loop as one Recurrent node."""
        w_ih, w_hh, b_ih, b_hh = self._layer_params(layer, direction)
        steps, batch, features = x.shape
        x_rows = _F.reshape(x, (steps * batch, features))
        attrs: dict = {"mode": self.mode, "reverse": bool(direction)}
        if self.mode == "GRU":  # b_hn sits inside r * (W_hn h + b_hn): b_hh stays in the recurrence
            x_proj = apply(LinearPrimitive, (x_rows, w_ih, b_ih))
        else:
            # Both biases add to the same pre-activations: their sum goes in once.
            bias = None if b_ih is None else b_ih + b_hh  # (``bias`` gives a layer both or neither)
            if self.mode == "LSTM":
                # The LSTM runs feature-major (see ops/recurrent.py): W_ih x^T, (4H, T*B), gives each
                # step's projections as rows it adds without a transposing pass, and its gradient
                # arrives in that layout, ready for both matmuls of this product's VJP. The bias is
                # added inside the recurrence, at no extra cost there.
                x_proj = apply(Matmul, (w_ih, x_rows.mT)).mT
                b_hh = bias
                attrs["gates"] = False  # out = [h, c] only: a third of the size, and so is its gradient
            else:
                x_proj = apply(LinearPrimitive, (x_rows, w_ih, bias))
                b_hh = None
        x_proj = _F.reshape(x_proj, (steps, batch, x_proj.shape[1]))
        out = apply(Recurrent, (x_proj, w_hh, b_hh, h, c), attrs)
        hidden = self.hidden_size
        last = 0 if direction else steps - 1
        seq = unary(_BasicGetItem, out, {"index": (Ellipsis, slice(0, hidden))})
        h_last = unary(_BasicGetItem, out, {"index": (last, slice(None), slice(0, hidden))})
        c_last = None
        if self.mode == "LSTM":
            c_last = unary(_BasicGetItem, out, {"index": (last, slice(None), slice(hidden, 2 * hidden))})
        return seq, h_last, c_last

    def forward(self, input: Tensor, hx: Any = None) -> Any:
        name = type(self).__name__
        input = as_tensor(input)
        is_lstm = self.mode == "LSTM"
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: expected input to be 2D or 3D, got {input.ndim}D tensor")
        batched = input.ndim == 3
        x = input if batched else _F.unsqueeze(input, 1)
        if self.batch_first and batched:
            x = _F.transpose(x, 0, 1)
        if x.shape[2] != self.input_size:
            raise RuntimeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got {x.shape[2]}"
            )
        directions = 2 if self.bidirectional else 1
        state_shape = (self.num_layers * directions, x.shape[1], self.hidden_size)
        h0, c0 = self._initial_state(hx, state_shape, batched, x.dtype, is_lstm, name)
        layer_input = x
        h_last: list[Tensor] = []
        c_last: list[Tensor] = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                index = layer * directions + direction
                h = unary(_BasicGetItem, h0, {"index": index})
                c = unary(_BasicGetItem, c0, {"index": index}) if c0 is not None else None
                out, h, c = self._run_direction(layer_input, h, c, layer, direction)
                outs.append(out)
                h_last.append(h)
                if c is not None:
                    c_last.append(c)
            layer_input = outs[0] if directions == 1 else _F.cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = dropout(layer_input, self.dropout, True)
        output = layer_input
        if self.batch_first and batched:
            output = _F.transpose(output, 0, 1)
        h_n = _F.stack(h_last, 0)
        c_n = _F.stack(c_last, 0) if is_lstm else None
        if not batched:
            output = _F.squeeze(output, 1)
            h_n = _F.squeeze(h_n, 1)
            c_n = _F.squeeze(c_n, 1) if c_n is not None else None
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)

    def _initial_state(self, hx: Any, shape: tuple, batched: bool, dtype: Any, is_lstm: bool, name: str
                       ) -> tuple[Tensor, Tensor | None]:
        if hx is None:
            zeros = Tensor._wrap(np.zeros(shape, dtype=dtype))
            return zeros, (Tensor._wrap(np.zeros(shape, dtype=dtype)) if is_lstm else None)
        if is_lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0) of tensors")
            states = [as_tensor(hx[0]), as_tensor(hx[1])]
        else:
            states = [as_tensor(hx)]
        for k, state in enumerate(states):
            if not batched:
                if state.ndim != 2:
                    raise RuntimeError(f"{name}: for unbatched 2-D input, hx should also be 2-D but got "
                                       f"{state.ndim}-D tensor")
                states[k] = state = _F.unsqueeze(state, 1)
            _check_hidden(state, shape, "c_0" if k else "h_0", name)
        return states[0], (states[1] if is_lstm else None)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (``nonlinearity='relu'`` for ReLU).

    Input ``(T, B, input_size)`` (``(B, T, ...)`` with ``batch_first``, or unbatched ``(T, ...)``);
    returns ``(output, h_n)`` with output ``(T, B, D * hidden_size)`` and h_n
    ``(num_layers * D, B, hidden_size)``, D = 2 if bidirectional else 1.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if nonlinearity not in modes:
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(modes[nonlinearity], input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), PyTorch's gate order i, f, g, o.

    Returns ``(output, (h_n, c_n))``; ``hx`` is ``(h_0, c_0)`` (zeros if omitted).

    >>> import autograd_lite as ag
    >>> lstm = ag.nn.LSTM(4, 8, batch_first=True)
    >>> out, (h, c) = lstm(ag.zeros(2, 5, 4))
    >>> out.shape, h.shape
    ((2, 5, 8), (1, 2, 8))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al., 2014), PyTorch's gate order r, z, n, with
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)). Returns ``(output, h_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


# ---------------------------------------------------------------- cells: one time step
class _CellBase(Module):
    _mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        if not isinstance(hidden_size, (int, np.integer)) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive integer, got {hidden_size!r}")
        self.input_size = input_size
        self.hidden_size = int(hidden_size)
        self.bias = bias
        gate_size = _GATES[self._mode] * self.hidden_size
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        self.weight_ih = Parameter(Tensor._wrap(np.empty((gate_size, input_size), dtype=dt)))
        self.weight_hh = Parameter(Tensor._wrap(np.empty((gate_size, self.hidden_size), dtype=dt)))
        if bias:
            self.bias_ih = Parameter(Tensor._wrap(np.empty((gate_size,), dtype=dt)))
            self.bias_hh = Parameter(Tensor._wrap(np.empty((gate_size,), dtype=dt)))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _prepare(self, input: Tensor, states: list[Any]) -> tuple[Tensor, list[Tensor], bool]:
        name = type(self).__name__
        input = as_tensor(input)
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has {input.shape[-1]} features, expected {self.input_size}")
        batched = input.ndim == 2
        x = input if batched else _F.unsqueeze(input, 0)
        shape = (x.shape[0], self.hidden_size)
        out = []
        for state in states:
            if state is None:
                out.append(Tensor._wrap(np.zeros(shape, dtype=x.dtype)))
                continue
            state = as_tensor(state)
            if not batched:
                state = _F.unsqueeze(state, 0)
            _check_hidden(state, shape, "hidden state", name)
            out.append(state)
        return x, out, batched

    def _step(self, x: Tensor, h: Tensor, c: Tensor | None) -> tuple[Tensor, Tensor | None]:
        params = self._parameters
        b_ih, b_hh = params["bias_ih"], params["bias_hh"]
        x_bias: Tensor | None
        mode = self._mode
        if mode == "GRU":
            x_bias, h_bias = b_ih, b_hh
        else:
            x_bias = None if b_ih is None else b_ih + b_hh
            h_bias = None
        x_proj = _affine(x, params["weight_ih"].mT, x_bias)  # type: ignore[union-attr]
        return _rnn_step(mode, x_proj, h, c, params["weight_hh"].mT, h_bias, self.hidden_size)  # type: ignore[union-attr]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        return text


class RNNCell(_CellBase):
    """One step of an Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if nonlinearity not in modes:
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or 'relu'")
        self._mode = modes[nonlinearity]
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, [hx])
        h, _ = self._step(x, h, None)
        return h if batched else _F.squeeze(h, 0)


class LSTMCell(_CellBase):
    """One LSTM step: returns ``(h', c')`` from ``input`` and ``hx = (h, c)`` (zeros if omitted)."""

    _mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Tensor]:
        states = [None, None] if hx is None else list(hx)
        x, (h, c), batched = self._prepare(input, states)
        h, c_next = self._step(x, h, c)
        if c_next is None:  # (an LSTM step always returns its cell state)
            raise RuntimeError("LSTMCell: the step returned no cell state")
        if not batched:
            return _F.squeeze(h, 0), _F.squeeze(c_next, 0)
        return h, c_next


class GRUCell(_CellBase):
    """One GRU step: returns h' from ``input`` and ``hx`` (zeros if omitted)."""

    _mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, [hx])
        h, _ = self._step(x, h, None)
        return h if batched else _F.squeeze(h, 0)
