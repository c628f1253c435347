"""The numpy hash tables native code reads (emu/translator/baseline/table.py):
keys put one by one and in bulk read back, through growth, against a dict."""
import random

from emu.translator.baseline.table import Table


def test_single_keys_one_by_one_and_in_bulk_match_a_dict():
    rng = random.Random(7)
    keys = rng.sample(range(-(1 << 40), 1 << 40), 5000)
    expected = {}
    t = Table(size=16)
    for k in keys[:700]:                     # one by one, growing several times
        t[k] = expected[k] = rng.randrange(1 << 30)
    bulk = keys[500:] + keys[500:520]        # overlapping keys; repeats keep the last value
    values = [rng.randrange(1 << 30) for _ in bulk]
    t.update(bulk, values)
    expected.update(zip(bulk, values))
    assert len(t) == len(expected)
    assert all(t.get(k) == v for k, v in expected.items())
    assert t.get(1 << 50) is None
    assert 2 * len(t) <= t.vals.shape[0]     # at most half full: probing always ends
