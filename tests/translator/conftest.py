"""Fixtures of the translator tests (tier_snippets.py says what a tier snippet is)."""
import pytest

from tier_snippets import make_snippet


@pytest.fixture
def tier_snippet(tmp_path):
    """make(tier, caching=False, **env) -> a Snippet on that tier, closed when the test ends."""
    made = []

    def make(tier, caching=False, **env):
        s = make_snippet(tier, tmp_path, caching, **env)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()
