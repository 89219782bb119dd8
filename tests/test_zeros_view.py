"""The shared read-only zeros that ReLU compares with (autograd_lite._zeros)."""

from __future__ import annotations

import mmap

import numpy as np
import pytest

from autograd_lite import _zeros


@pytest.fixture
def fresh_buffer(monkeypatch):
    """Each test starts without a buffer, and the library's own is restored afterwards."""
    monkeypatch.setattr(_zeros, "_buffer", [None])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "uint16", "int64"])
def test_views_are_read_only_zeros_of_the_same_shape_and_dtype(fresh_buffer, dtype):
    like = np.ones((3, 5, 7), dtype=dtype)
    zeros = _zeros.zeros_view(like)
    assert zeros.shape == like.shape and zeros.dtype == like.dtype
    assert not zeros.flags.writeable and not zeros.any()
    with pytest.raises(ValueError, match="read-only"):
        zeros[0, 0, 0] = 1


def test_the_buffer_grows_in_powers_of_two_and_refuses_huge_arrays(fresh_buffer):
    small = _zeros.zeros_view(np.ones(10))
    assert _zeros._buffer[0].size == 1 << 20  # the smallest buffer
    big = _zeros.zeros_view(np.ones(300_000))  # 2.4 MB: the buffer grows to 4 MiB
    assert _zeros._buffer[0].size == 4 << 20 and big.shape == (300_000,) and not big.any()
    assert not small.any()  # a view of the old buffer stays valid
    huge = np.lib.stride_tricks.as_strided(np.ones(1), shape=(_zeros.MAX_BYTES // 8 + 1,), strides=(0,))
    assert _zeros.zeros_view(huge) is None


def test_without_an_anonymous_mapping_it_falls_back_to_an_array(fresh_buffer, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no mapping here")

    monkeypatch.setattr(mmap, "mmap", refuse)
    zeros = _zeros.zeros_view(np.ones((4, 4), dtype=np.float32))
    assert zeros.dtype == np.float32 and not zeros.any() and not zeros.flags.writeable
