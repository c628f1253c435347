"""The portable fallback (PYEMU_BASELINE=0: no copy-and-patch, LLVM's tier 1
for new blocks and tier 2 once hot, as on hosts copy-and-patch does not
support) forced on a slice of the semantics suite: every integer and x87
family, a few dozen runs each in both modes, against Unicorn.  With a
tier-up threshold of 2 the blocks run at tier 1 and, from their second
entry, at tier 2; the test checks that both happened and no block came from
the baseline (tests/tiers.py)."""
from tiers import FALLBACK, Census, census_problem

from .families import FAMILIES
from .harness import Machines, run_family
from .x87_families import X87_FAMILIES
from .x87_harness import X87Machines, run_x87_family

RUNS = 24


def _env(tmp_path):
    return dict(FALLBACK, PYEMU_HOT="2", PYEMU_OBJCACHE_DIR=str(tmp_path))


def _check(runner, before):
    """The blocks runner made since census `before` are the fallback's, some at tier 2."""
    c = runner.census() - before
    problem = census_problem("fallback", c)
    assert problem is None, problem
    assert c.tier_ups > 0, "no block reached tier 2 (%r)" % c


def test_integer_families_on_the_fallback(tmp_path, semantics_seed):
    machines = Machines(env=_env(tmp_path))
    failures = []
    try:
        for name, (gen, _, modes) in FAMILIES.items():
            for bits in modes:
                st = run_family(machines, name, gen, RUNS, semantics_seed, bits, states_per_case=3, max_reports=1)
                if st.failed_runs:
                    failures.append("%s/%d: %s" % (name, bits, st.failures[0]))
        for bits in (32, 16):
            _check(machines.py(bits), Census())
    finally:
        machines.close()
    assert not failures, "\n\n".join(failures)


def test_x87_families_on_the_fallback(tmp_path, semantics_seed):
    machines = X87Machines(env=_env(tmp_path))
    failures = []
    try:
        for name, (gen, _, value) in X87_FAMILIES.items():
            for bits in (32, 16):
                st = run_x87_family(machines, name, gen, value, RUNS // 2, semantics_seed, bits, max_reports=1)
                if st.failed_runs:
                    failures.append("%s/%d: %s" % (name, bits, st.failures[0]))
        _check(machines.py(32), Census())
    finally:
        machines.close()
    assert not failures, "\n\n".join(failures)
