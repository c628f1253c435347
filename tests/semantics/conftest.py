"""Fixtures of the semantics-vs-Unicorn suite (options: tests/conftest.py).

Every test of the suite runs on each translation tier (`tier`: tests/tiers.py),
with machines made under that tier's switches and an object cache of their
own, so the LLVM tier compiles what it runs rather than loading an earlier
run's objects."""
import random

import pytest

from tiers import TIERS

from .harness import Machines

DEFAULT_RUNS = 20000
DEFAULT_SEED = "pyemu-semantics-1"


@pytest.fixture(scope="session")
def semantics_runs(request):
    n = request.config.getoption("--semantics-cases", default=None)
    return DEFAULT_RUNS if n is None else n


@pytest.fixture(scope="session")
def semantics_seed(request):
    seed = request.config.getoption("--semantics-seed", default=None) or DEFAULT_SEED
    if seed == "random":
        seed = "%016x" % random.SystemRandom().getrandbits(64)
    print("\nsemantics seed: %s (rerun with --semantics-seed=%s)" % (seed, seed))
    return seed


@pytest.fixture(scope="session", params=sorted(TIERS))
def tier(request):
    """The translation tier a test's machines run on."""
    return request.param


@pytest.fixture(scope="session")
def tier_env(tier, tmp_path_factory):
    """The environment pyemu machines of `tier` are made under."""
    return dict(TIERS[tier], PYEMU_OBJCACHE_DIR=str(tmp_path_factory.mktemp("objects-%s" % tier)))


@pytest.fixture(scope="session")
def semantics_machines(tier_env):
    m = Machines(env=tier_env)
    yield m
    m.close()
