"""Build hook: the wheel carries ``manifests/`` and ``recipes/`` as package data (``onellm_data/_bundled/``),
so an installed ``onellm-data`` finds its source manifests and stage recipes outside a checkout."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        for name in ("manifests", "recipes"):
            target = Path(self.build_lib) / "onellm_data" / "_bundled" / name
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            for path in sorted((ROOT / name).glob("*.yaml")):
                shutil.copy2(path, target / path.name)


setup(cmdclass={"build_py": BuildPyWithData})
