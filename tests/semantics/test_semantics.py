"""Instruction semantics: pyemu against Unicorn, family by family.

Each test runs random fragments of one family (families.py) from random
states on both machines and compares registers, EIP, memory, the defined
flags and exceptions (harness.py).  The run count is split over the families
by their weights and between 32-bit protected mode and 16-bit real mode;
`--semantics-cases=N` scales it, `--semantics-seed=S` reproduces a run (the
seed is printed, and every failure report names seed, case and state).
Every family runs on the baseline tier and on the LLVM tier (the `tier`
fixture, conftest.py), and each run checks that the blocks it made came
from that tier (tests/tiers.py).
"""
import pytest

from tiers import census_problem

from .families import FAMILIES
from .harness import run_family

MODE_SHARE = {32: 0.7, 16: 0.3}
STATES_PER_CASE = 4
MAX_REPORTS = 6


def _params():
    out = []
    for name, (_, weight, modes) in FAMILIES.items():
        for bits in modes:
            out.append(pytest.param(name, bits, id="%s-%d" % (name, bits)))
    return out


def runs_for(name, bits, total):
    weights = sum(w for _, w, _ in FAMILIES.values())
    _, w, modes = FAMILIES[name]
    share = MODE_SHARE[bits] / sum(MODE_SHARE[m] for m in modes)
    return max(STATES_PER_CASE, int(round(total * w / weights * share)))


@pytest.mark.parametrize("family,bits", _params())
def test_family_matches_unicorn(family, bits, tier, semantics_runs, semantics_seed, semantics_machines):
    gen = FAMILIES[family][0]
    n = runs_for(family, bits, semantics_runs)
    py = semantics_machines.py(bits)
    before = py.census()
    stats = run_family(semantics_machines, family, gen, n, semantics_seed, bits,
                       states_per_case=STATES_PER_CASE, max_reports=MAX_REPORTS)
    if stats.failed_runs:
        head = ("%s, %d-bit, %s tier: %d of %d runs (%d fragments) differ from Unicorn; seed %s; first %d:\n"
                % (family, bits, tier, stats.failed_runs, stats.runs, stats.cases, semantics_seed,
                   len(stats.failures)))
        pytest.fail(head + "\n\n".join(stats.failures), pytrace=False)
    problem = census_problem(tier, py.census() - before, quiet=True)
    assert problem is None, "%s, %d-bit: %s" % (family, bits, problem)
