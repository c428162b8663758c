"""Fresh random 96-bit nonces for AES-GCM, fetched from the OS in blocks.

``os.urandom(12)`` is one ``getrandom()`` system call per nonce, about a
quarter of the whole cost of encrypting a short field. Here the OS random
generator fills a block of 512 nonces at once and each caller takes the next
12-byte slice. The nonces are exactly as random as ``os.urandom`` ones; only
the system calls are batched. Nonces are public (stored in front of every
ciphertext), so holding future ones in memory reveals nothing.

Why no slice is ever handed out twice (a repeated GCM nonce under one key
would be fatal):

- A block and its counter travel together in one tuple, read with one load.
  ``next()`` on an ``itertools.count`` runs in C under the GIL, so every index
  of a block goes to exactly one caller, whatever the threads do.
- A caller that exhausts a block builds a new block and counter in local
  variables, installs them, and returns a slice of *its* new block. Two threads
  refilling at once each install and use a different block.
- A forked child inherits the parent's block and counter; an
  ``os.register_at_fork`` hook gives the child a fresh block, so parent and child
  never share one. (``subprocess`` execs and is unaffected.)

This relies on the GIL (CPython 3.11, as the project targets); a free-threaded
build would need a lock here.
"""

from __future__ import annotations

import itertools
import os

NONCE_BYTES = 12
_PER_BLOCK = 512

_state: tuple[bytes, itertools.count[int]] = (
    os.urandom(NONCE_BYTES * _PER_BLOCK),
    itertools.count(),
)


def _fresh_block() -> bytes:
    global _state  # noqa: PLW0603 (one atomic rebinding of block and counter is the point)
    block = os.urandom(NONCE_BYTES * _PER_BLOCK)
    _state = (block, itertools.count(1))  # index 0 is returned by the caller below
    return block


def _after_fork_in_child() -> None:
    _fresh_block()


os.register_at_fork(after_in_child=_after_fork_in_child)


def random_nonce() -> bytes:
    """12 bytes from the OS random generator, never handed out twice."""
    block, counter = _state
    index = next(counter)
    if index >= _PER_BLOCK:
        return _fresh_block()[:NONCE_BYTES]
    start = index * NONCE_BYTES
    return block[start : start + NONCE_BYTES]
