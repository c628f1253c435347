from setuptools import find_packages, setup

setup(
    name="pyemu",
    version="0.1.0",
    description="A full-system x86 PC emulator with an LLVM-based dynamic binary translator",
    packages=find_packages(include=["emu", "emu.*"]),
    package_data={"emu": ["demo/*.S", "demo/*.ld"],
                  "emu.images": ["init.sh", "profile", "tiny-i386.config-fragment"]},
    python_requires=">=3.11",
    install_requires=["llvmlite>=0.50", "numba>=0.68", "numpy", "capstone>=5", "keystone-engine",
                      "pyelftools", "python-debian", "qemu.qmp", "pexpect"],
    extras_require={"test": ["pytest", "pytest-xdist", "unicorn>=2.1", "distributed"],
                    "matrix": ["distributed"]},
    entry_points={"console_scripts": ["pyemu=emu.cli:main", "pyemu-images=emu.images.cli:main",
                                        "pyemu-test=emu.matrix.cli:main"]},
)
