"""x87 instruction semantics: pyemu against Unicorn (x87_families.py, x87_harness.py).

The run count (default 4000, --semantics-cases scales it by the same factor
as the integer suite's) is split over the families by weight and between
32-bit protected mode and 16-bit real mode.  Seeds as in test_semantics.py.
Every family runs on the baseline tier and on the LLVM tier (the `tier`
fixture, conftest.py), and each run checks that the blocks it made came from
that tier (tests/tiers.py).
"""
import pytest

from tiers import census_problem

from .conftest import DEFAULT_RUNS
from .x87_families import X87_FAMILIES
from .x87_harness import X87Machines, run_x87_family

X87_DEFAULT_RUNS = 4000
MODE_SHARE = {32: 0.75, 16: 0.25}


@pytest.fixture(scope="module")
def x87_machines(tier_env):
    m = X87Machines(env=tier_env)
    yield m
    m.close()


@pytest.fixture(scope="module")
def x87_runs(semantics_runs):
    return X87_DEFAULT_RUNS * semantics_runs // DEFAULT_RUNS


def _params():
    return [pytest.param(name, bits, id="%s-%d" % (name, bits)) for name in X87_FAMILIES for bits in (32, 16)]


@pytest.mark.parametrize("family,bits", _params())
def test_x87_family_matches_unicorn(family, bits, tier, x87_runs, semantics_seed, x87_machines):
    gen, weight, value = X87_FAMILIES[family]
    total = sum(w for _, w, _ in X87_FAMILIES.values())
    n = max(8, int(round(x87_runs * weight / total * MODE_SHARE[bits])))
    py = x87_machines.py(bits)
    before = py.census()
    stats = run_x87_family(x87_machines, family, gen, value, n, semantics_seed, bits)
    if stats.failed_runs:
        head = "%s, %d-bit, %s tier: %d of %d runs (%d fragments) differ from Unicorn; seed %s; first %d:\n" % (
            family, bits, tier, stats.failed_runs, stats.runs, stats.cases, semantics_seed, len(stats.failures))
        pytest.fail(head + "\n\n".join(stats.failures), pytrace=False)
    problem = census_problem(tier, py.census() - before, quiet=True)
    assert problem is None, "%s, %d-bit: %s" % (family, bits, problem)
