"""The one exception the image builder raises for expected failures."""


class ImageError(Exception):
    """An expected failure (no apt, no network, a failed build ...): the message says
    what happened and what to do; `log` names the full build log when there is one,
    `details` holds extra lines to show (the end of that log)."""

    def __init__(self, message, log=None, details=()):
        super().__init__(message)
        self.message = message
        self.log = log
        self.details = tuple(details)

    def __str__(self):
        if self.log:
            return "%s (full log: %s)" % (self.message, self.log)
        return self.message


class StaleLists(ImageError):
    """A package or version that the package lists name could not be had: fresher
    lists may fix it (the builder retries once after apt-get update)."""
