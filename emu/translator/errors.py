"""The translator's own error, in a module of its own: gen.py raises it and
callbacks.py (which gen.py imports) raises it too."""


class TranslationError(Exception):
    """The translator cannot translate this instruction (a bug or a gap)."""
