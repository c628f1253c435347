"""Guest runs on a chosen translation tier (tests/tiers.py), with proof of the tier.

Each run gets the tier's switches, an object/translation cache directory of
its tier (shared by the session's runs of that tier, so the LLVM tier
compiles what it runs instead of loading another session's objects) and a
PYEMU_STATS file; the returned Run carries the figures (`run.stats`), and
`tier_problem` says when they do not look like a run on that tier.
"""
import itertools
import os

from tiers import FALLBACK, TIERS, Census, census_problem, read_stats

from . import guestlib

_runs = itertools.count()


def env_for(tier, workdir, stats_path, extra=None):
    """The environment of a pyemu run on tier (a name of tiers.TIERS, or "fallback"),
    with the variables of `extra` on top (an empty value unsets one)."""
    env = guestlib._pyemu_env()
    objects = os.path.join(str(workdir), "objects-%s" % tier)
    os.makedirs(objects, exist_ok=True)
    settings = dict(FALLBACK if tier == "fallback" else TIERS[tier], PYEMU_OBJCACHE_DIR=objects,
                    PYEMU_STATS=str(stats_path))
    settings.update(extra or {})
    for k, v in settings.items():
        if v == "":
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run(cmd, tier, workdir, timeout=60, interrupt_on_timeout=False, extra_env=None):
    """guestlib._run of a pyemu command line on tier; the Run has .stats (None: no file)."""
    stats_path = os.path.join(str(workdir), "stats-%s-%d-%d.json" % (tier, os.getpid(), next(_runs)))
    r = guestlib._run(cmd, timeout, env=env_for(tier, workdir, stats_path, extra_env),
                      interrupt_on_timeout=interrupt_on_timeout)
    try:
        r.stats = read_stats(stats_path)
    except (OSError, ValueError):
        r.stats = None
    return r


def tier_problem(tier, r):
    """Why run r does not show the work of tier (None: it does)."""
    if r.stats is None:
        return "pyemu wrote no PYEMU_STATS file"
    return census_problem(tier, Census.from_stats(r.stats))


def check_tier(tier, r):
    problem = tier_problem(tier, r)
    assert problem is None, "not a run on the %s tier: %s\n%s" % (tier, problem, r.describe())
