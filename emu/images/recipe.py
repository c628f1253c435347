"""Versioned recipes: what goes into an image, hashed into its cache key.

A recipe is a plain dict of every input that shapes an image -- the builder's
own recipe version, the text of the config fragment, /init and /etc/profile,
and the exact Debian package versions.  Its digest names the cache entry, so
changing any input gives a new entry instead of silently reusing an old one.
The "local" digest leaves the package versions out: it lets an image be found
where apt cannot say which versions are current (no apt, no lists).

Bump a *_RECIPE number when the build steps change in a way the inputs do not show.
"""
import hashlib
import json

INITRAMFS_RECIPE = 1
TINY_RECIPE = 1
DEBIAN_RECIPE = 1
DISK_RECIPE = 1


def digest(obj):
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _text_hash(text):
    return hashlib.sha256(text.encode()).hexdigest()


def initramfs_recipe(busybox_version, init_text, profile_text):
    return {"recipe": INITRAMFS_RECIPE, "busybox-static": busybox_version,
            "init": _text_hash(init_text), "profile": _text_hash(profile_text)}


def tiny_recipe(source_version, fragment_text, initramfs):
    return {"image": "tiny", "recipe": TINY_RECIPE, "linux-source-6.1": source_version,
            "fragment": _text_hash(fragment_text), "initramfs": initramfs}


def debian_recipe(kernel_package, kernel_version, initramfs):
    return {"image": "debian", "recipe": DEBIAN_RECIPE, "kernel-package": kernel_package,
            "kernel-version": kernel_version, "initramfs": initramfs}


def disk_recipe(name, kernel_recipe, busybox_version, init_text, profile_text, layout):
    return {"image": name, "recipe": DISK_RECIPE, "kernel": kernel_recipe,
            "busybox-static": busybox_version,
            "init": _text_hash(init_text), "profile": _text_hash(profile_text), "layout": layout}


_VERSION_KEYS = ("busybox-static", "linux-source-6.1", "kernel-package", "kernel-version")


def local_part(recipe):
    """The recipe without the Debian package versions."""
    out = {}
    for key, value in recipe.items():
        if key in _VERSION_KEYS:
            continue
        out[key] = local_part(value) if isinstance(value, dict) else value
    return out
