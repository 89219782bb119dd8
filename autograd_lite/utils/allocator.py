"""An opt-in allocator setting for training loops that allocate the same large arrays each step.

A training step allocates and frees the same large arrays (activations, im2col columns,
gradients) over and over. glibc serves every allocation above its mmap threshold (128 KiB
at first) with a fresh ``mmap`` and unmaps it on free, so each step pays page faults for
memory it had a moment ago; on small virtual machines that can cost more than the
arithmetic. :func:`tune_allocator` raises glibc's mmap and trim thresholds, so such buffers
stay in the heap and are reused (``benchmarks/README.md`` gives the measured effect).

It changes a setting of the whole process (freed memory stays with the process, up to the
trim threshold), so the library never calls it on its own: importing ``autograd_lite``
changes nothing outside the library. Call it yourself, once, at the start of a script.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc's largest allowed mmap threshold on 64-bit systems
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20


def tune_allocator() -> bool:
    """Raise glibc's mmap/trim thresholds for this process; return whether it was applied.

    Does nothing (and returns False) off Linux or where the C library is not glibc.

    >>> from autograd_lite.utils.allocator import tune_allocator
    >>> isinstance(tune_allocator(), bool)
    True
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl, ...): leave the allocator alone
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
