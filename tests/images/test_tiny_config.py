"""Checking the tiny kernel's final .config against the fragment."""
from emu.images import tiny

FRAGMENT = """# a comment
CONFIG_PRINTK=y
CONFIG_NET=n
# CONFIG_VT is not set
CONFIG_LOG_BUF_SHIFT=14
"""


def test_parse_config():
    assert tiny.parse_config(FRAGMENT) == {"CONFIG_PRINTK": "y", "CONFIG_NET": "n", "CONFIG_VT": "n",
                                           "CONFIG_LOG_BUF_SHIFT": "14"}


def test_all_options_met():
    config = "CONFIG_PRINTK=y\n# CONFIG_NET is not set\nCONFIG_LOG_BUF_SHIFT=14\nCONFIG_X=y\n"
    assert tiny.unmet_options(FRAGMENT, config) == []      # absent CONFIG_VT counts as n


def test_unmet_options_are_named():
    config = "# CONFIG_PRINTK is not set\nCONFIG_NET=y\nCONFIG_VT=y\nCONFIG_LOG_BUF_SHIFT=17\n"
    assert tiny.unmet_options(FRAGMENT, config) == [
        ("CONFIG_PRINTK", "y", "n"), ("CONFIG_NET", "n", "y"), ("CONFIG_VT", "n", "y"),
        ("CONFIG_LOG_BUF_SHIFT", "14", "17")]


def test_repo_fragment_is_self_contained_and_parses():
    options = tiny.parse_config(tiny.fragment_text())
    for opt in ("CONFIG_SERIAL_8250_CONSOLE", "CONFIG_BLK_DEV_INITRD", "CONFIG_RD_GZIP",
                "CONFIG_DEVTMPFS", "CONFIG_BINFMT_SCRIPT"):
        assert options[opt] == "y", opt
    # merge_config.sh reads "# CONFIG_..." lines as settings: comments must not start so,
    # unless they are the "is not set" form.
    for line in tiny.fragment_text().splitlines():
        if line.startswith("# CONFIG_"):
            assert line.endswith(" is not set"), line
