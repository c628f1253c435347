"""A recipe's digest changes with each of its inputs and only with them."""
import pytest

from emu.images import recipe
from emu.images.build import Builder, Plan
from emu.images.cache import Cache


def tiny(busybox="1:1.35.0-4", init="#!/bin/busybox sh\n", profile="PS1='# '\n",
         source="6.1.176-1", fragment="CONFIG_PRINTK=y\n"):
    return recipe.tiny_recipe(source, fragment, recipe.initramfs_recipe(busybox, init, profile))


def debian(busybox="1:1.35.0-4", package="linux-image-6.1.0-50-686-unsigned", version="6.1.176-1",
           init="#!/bin/busybox sh\n"):
    return recipe.debian_recipe(package, version, recipe.initramfs_recipe(busybox, init, "p"))


def test_digest_is_stable():
    assert recipe.digest(tiny()) == recipe.digest(tiny())
    assert len(recipe.digest(tiny())) == 16


@pytest.mark.parametrize("change", [
    {"busybox": "1:1.35.0-5"}, {"init": "#!/bin/busybox sh\necho hi\n"},
    {"profile": "PS1='$ '\n"}, {"source": "6.1.192-3"}, {"fragment": "CONFIG_PRINTK=n\n"},
])
def test_each_tiny_input_changes_the_digest(change):
    assert recipe.digest(tiny(**change)) != recipe.digest(tiny())


@pytest.mark.parametrize("change", [
    {"busybox": "1:1.36"}, {"package": "linux-image-6.1.0-51-686-unsigned"},
    {"version": "6.1.192-1"}, {"init": "#!/bin/busybox sh\n\n"},
])
def test_each_debian_input_changes_the_digest(change):
    assert recipe.digest(debian(**change)) != recipe.digest(debian())


def test_images_never_share_a_digest():
    assert recipe.digest(tiny()) != recipe.digest(debian())


def test_recipe_version_changes_the_digest(monkeypatch):
    tiny_before, debian_before = recipe.digest(tiny()), recipe.digest(debian())
    monkeypatch.setattr(recipe, "TINY_RECIPE", recipe.TINY_RECIPE + 1)
    assert recipe.digest(tiny()) != tiny_before
    assert recipe.digest(debian()) == debian_before
    monkeypatch.setattr(recipe, "INITRAMFS_RECIPE", recipe.INITRAMFS_RECIPE + 1)
    assert recipe.digest(debian()) != debian_before     # the initramfs is part of both


def test_local_part_ignores_package_versions_only():
    assert recipe.local_part(tiny()) == recipe.local_part(tiny(busybox="2", source="6.2"))
    assert recipe.local_part(tiny()) != recipe.local_part(tiny(fragment="CONFIG_X=y\n"))
    assert recipe.local_part(debian()) == recipe.local_part(debian(version="7", package="p"))
    assert recipe.local_part(debian()) != recipe.local_part(debian(init="x"))


def test_builder_local_digest_follows_the_files_in_the_repo(monkeypatch, tmp_path):
    b = Builder(cache=Cache(tmp_path))
    before = b.local_digest("tiny")
    from emu.images import tiny as tiny_module
    monkeypatch.setattr(tiny_module, "fragment_text", lambda: "CONFIG_SOMETHING_ELSE=y\n")
    assert b.local_digest("tiny") != before
    assert Plan("tiny", tiny(), {}).digest == recipe.digest(tiny())
