"""Fixtures of the semantics-vs-Unicorn suite (options: tests/conftest.py)."""
import random

import pytest

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


@pytest.fixture(scope="session")
def semantics_machines():
    m = Machines()
    yield m
    m.close()
