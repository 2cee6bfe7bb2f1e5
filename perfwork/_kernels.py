"""The environment of the kernels perfwork starts: the apps' Voilà kernels and the batch's warm kernels.

Each of them reads Parquet and builds large frames, then lives for many viewers or areas, so what the allocators
keep after a peak is what it costs for the rest of its life. Measured on the demo's CSPs (a batch kernel after
its first report; an app kernel after its first page):

- Arrow's default pool (mimalloc) keeps what reading Parquet used: ``ARROW_DEFAULT_MEMORY_POOL=system`` hands it to
  glibc instead (an app kernel 340 -> 300 MB);
- glibc gives memory back only from mmap'ed blocks, and after the first large free it raises its mmap threshold
  to that block's size, so later large frames land on the heap and stay: a fixed threshold
  (``MALLOC_MMAP_THRESHOLD_``) keeps frames of more than 128 KB returnable, and two arenas
  (``MALLOC_ARENA_MAX``) stop Arrow's threads from spreading the heap (a batch kernel's national work,
  930 -> 620 MB at its peak, measured with the allocators alone changed).

A value already set in perfwork's own environment is kept.
"""

from __future__ import annotations

import os

KERNEL_ENV = {"ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "131072"}


def kernel_env() -> dict[str, str]:
    """``KERNEL_ENV`` under whatever this process's environment already says."""
    return {k: os.environ.get(k, v) for k, v in KERNEL_ENV.items()}
