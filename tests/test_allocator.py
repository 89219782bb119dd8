"""The allocator setting is an explicit opt-in: importing the library changes nothing outside it."""

import subprocess
import sys

from autograd_lite.utils.allocator import tune_allocator

_PROBE = """
import ctypes, sys
libc = ctypes.CDLL("libc.so.6")
before = libc.malloc_trim  # exists on glibc
import numpy as np
# glibc reports its mmap threshold only through mallinfo/malloc_info; probe the effect instead:
# a freed 1 MiB block is unmapped (default) or kept in the heap (tuned). Compare heap sizes.
class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = Mallinfo2
import autograd_lite
{after}
block = np.ones(1 << 18)  # 2 MiB: above glibc's default mmap threshold
print(libc.mallinfo2().hblks)
"""


def _mmapped_blocks(after: str) -> int:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(after=after)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def test_import_leaves_the_allocator_alone_and_tuning_is_opt_in():
    if not sys.platform.startswith("linux"):
        assert tune_allocator() is False
        return
    # Imported only: a 2 MiB array is served by mmap (glibc's default threshold is 128 KiB).
    assert _mmapped_blocks("") >= 1
    # After the explicit call: the threshold is 32 MiB, so the same array comes from the heap.
    tuned = _mmapped_blocks("from autograd_lite.utils.allocator import tune_allocator; assert tune_allocator()")
    assert tuned < _mmapped_blocks("")
