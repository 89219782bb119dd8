"""Let freed NumPy buffers be reused instead of handed back to the operating system.

A training step allocates and frees the same large arrays (activations, im2col columns,
gradients) over and over. glibc serves every allocation above its mmap threshold (128 KiB
at first) with a fresh ``mmap`` and unmaps it on free, so each step pays page faults for
memory it had a moment ago; on small virtual machines that costs more than the arithmetic
(a small CNN step: 16 ms -> 7 ms). Raising the mmap and trim thresholds keeps such
buffers in the heap for reuse. It is a process-wide setting of glibc's malloc (freed memory
stays with the process, up to the trim threshold), so it is applied once at import, only
where glibc is present, and ``AUTOGRAD_LITE_MALLOC_TUNING=0`` in the environment turns it off.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 128 << 20


def tune_allocator() -> bool:
    """Raise glibc's mmap/trim thresholds; returns whether the setting was applied."""
    if os.environ.get("AUTOGRAD_LITE_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl, ...): leave the allocator alone
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


allocator_tuned = tune_allocator()
