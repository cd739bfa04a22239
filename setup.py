"""Build: the top-level part folders become the `branchline` package.

Each part folder (dsp/, hw/, ...) maps to `branchline.<part>` through package_dir, and every
`.pyx` file under dsp/ or hw/ becomes an extension named by its full dotted path
(`dsp/_g711.pyx` is `branchline.dsp._g711`, `hw/sip/_rtp.pyx` is `branchline.hw.sip._rtp`).
See docs/ARCHITECTURE.md.
"""

import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
# Built on the device: its own CPU's widest vectors. A package built for many boards sets a
# baseline instead (x86-64-v2, armv8-a): docs/ARCHITECTURE.md, "Compiler flags".
MARCH = os.environ.get("BRANCHLINE_MARCH", "native")
PARTS = ("dsp", "hw", "ivr", "acd", "config", "firmware", "central")

package_dir = {"branchline": "."}
packages = ["branchline"]
for part in PARTS:
    packages.append(f"branchline.{part}")
    packages += [f"branchline.{part}.{sub}" for sub in find_packages(where=part)]



class BuildPy(build_py):
    """The root package is the repository root: keep setup.py itself out of it."""

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if not (package == "branchline" and m[1] == "setup")]


extensions = [
    Extension(
        ".".join(("branchline", *pyx.relative_to(HERE).with_suffix("").parts)),
        [str(pyx.relative_to(HERE))],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
        extra_compile_args=["-O3", "-fno-math-errno", "-fno-trapping-math", f"-march={MARCH}",
                            "-ffp-contract=off"],
    )
    for part in ("dsp", "hw")
    for pyx in sorted((HERE / part).rglob("*.pyx"))
]

setup(
    package_dir=package_dir,
    packages=packages,
    package_data={"branchline.config": ["defaults/*.yaml"],
                  "branchline.config.web": ["static/*", "templates/*"],
                  "branchline.central.web": ["static/*", "templates/*"]},
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    ),
    cmdclass={"build_py": BuildPy},
    zip_safe=False,
)
