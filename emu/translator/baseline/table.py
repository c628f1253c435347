"""Hash tables in numpy arrays, for native code: int64 keys (or pairs) -> int64.

Open addressing with linear probing in a power-of-two table; a slot whose
key is EMPTY is free (keys are never EMPTY).  Python grows a table (a new,
larger one) before it is half full; native code only reads them.  Used for
variant code -> stencil (stencilset.py) and hot key -> cached block
(codecache.py), which native.make_block reads with no Python on the way.
"""
import numpy as np
from numba import njit

EMPTY = np.int64(-(1 << 63))
MISSING = np.int64(-(1 << 62))


@njit(cache=True, nogil=True, inline="always")
def _mix(k):
    k = (np.uint64(k) ^ (np.uint64(k) >> np.uint64(31))) * np.uint64(0x9E3779B97F4A7C15)
    return k ^ (k >> np.uint64(29))


@njit(cache=True, nogil=True)
def get1(keys, vals, key):
    """vals of key, or MISSING."""
    mask = np.uint64(keys.shape[0] - 1)
    i = _mix(key) & mask
    while True:
        k = keys[i]
        if k == key:
            return vals[i]
        if k == EMPTY:
            return MISSING
        i = (i + np.uint64(1)) & mask


@njit(cache=True, nogil=True)
def put1(keys, vals, key, value):
    mask = np.uint64(keys.shape[0] - 1)
    i = _mix(key) & mask
    while keys[i] != EMPTY and keys[i] != key:
        i = (i + np.uint64(1)) & mask
    keys[i] = key
    vals[i] = value


@njit(cache=True, nogil=True)
def put_many1(keys, vals, new_keys, new_vals):
    """put1 of every pair; returns how many keys were not in the table."""
    added = 0
    for j in range(new_keys.shape[0]):
        if get1(keys, vals, new_keys[j]) == MISSING:
            added += 1
        put1(keys, vals, new_keys[j], new_vals[j])
    return added


@njit(cache=True, nogil=True)
def get2(keys, vals, a, b):
    """vals of the key (a, b) (keys: int64[n, 2]), or MISSING."""
    mask = np.uint64(keys.shape[0] - 1)
    i = (_mix(a) ^ _mix(b + 1)) & mask
    while True:
        if keys[i, 0] == a and keys[i, 1] == b:
            return vals[i]
        if keys[i, 0] == EMPTY:
            return MISSING
        i = (i + np.uint64(1)) & mask


@njit(cache=True, nogil=True)
def put2(keys, vals, a, b, value):
    mask = np.uint64(keys.shape[0] - 1)
    i = (_mix(a) ^ _mix(b + 1)) & mask
    while keys[i, 0] != EMPTY and not (keys[i, 0] == a and keys[i, 1] == b):
        i = (i + np.uint64(1)) & mask
    keys[i, 0] = a
    keys[i, 1] = b
    vals[i] = value


class Table:
    """int64 (or, pairs=True, (int64, int64)) -> int64, growing from Python."""

    def __init__(self, pairs=False, size=1024):
        self.pairs = pairs
        self.count = 0
        self._alloc(size)

    def _alloc(self, size):
        shape = (size, 2) if self.pairs else (size,)
        self.keys = np.full(shape, EMPTY, dtype=np.int64)
        self.vals = np.zeros(size, dtype=np.int64)
        self.generation = getattr(self, "generation", -1) + 1     # native views must be taken again

    def __setitem__(self, key, value):
        self._make_room(1)
        self._put(key, value)

    def update(self, keys, values):
        """Put many int64 keys at once (a table of single keys): one native loop,
        for loading a saved table (thousands of keys in a millisecond)."""
        assert not self.pairs
        keys = np.asarray(keys, dtype=np.int64)
        self._make_room(keys.shape[0])
        self.count += int(put_many1(self.keys, self.vals, keys, np.asarray(values, dtype=np.int64)))

    def _make_room(self, n):
        """Grow (rehashing what is there) so that n more keys keep the table at most half full."""
        size = self.vals.shape[0]
        while 2 * (self.count + n) > size:
            size *= 2
        if size == self.vals.shape[0]:
            return
        old_keys, old_vals = self.keys, self.vals
        self._alloc(size)
        self.count = 0
        used = (old_keys[:, 0] if self.pairs else old_keys) != EMPTY
        for k, v in zip(old_keys[used].tolist(), old_vals[used].tolist()):
            self._put(k, v)

    def _put(self, key, value):
        if self.pairs:
            if get2(self.keys, self.vals, key[0], key[1]) == MISSING:
                self.count += 1
            put2(self.keys, self.vals, key[0], key[1], value)
        else:
            if get1(self.keys, self.vals, key) == MISSING:
                self.count += 1
            put1(self.keys, self.vals, key, value)

    def get(self, key, default=None):
        v = get2(self.keys, self.vals, key[0], key[1]) if self.pairs else get1(self.keys, self.vals, key)
        return default if v == MISSING else int(v)

    def __len__(self):
        return self.count
