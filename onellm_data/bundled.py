"""The project's data directories (``manifests/``, ``recipes/``) in a checkout and in an installed wheel.

In a checkout they sit beside the package; a wheel carries copies as package data under
``onellm_data/_bundled/`` (``setup.py`` copies them at build time). A recipe named ``recipes/<file>.yaml``
that does not exist relative to the working directory is the bundled one, so the README's commands work
from any directory once the package is installed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
DATA_DIRS = ("manifests", "recipes")


def data_dir(name: str) -> Path:
    """``manifests`` or ``recipes``: the checkout's directory when there is one, else the installed copy."""
    if name not in DATA_DIRS:
        raise ValueError(f"no bundled data directory {name!r}")
    local = CHECKOUT / name
    if local.is_dir() and (CHECKOUT / "onellm_data").is_dir() and (CHECKOUT / "pyproject.toml").is_file():
        return local
    return Path(str(resources.files("onellm_data") / "_bundled" / name))


def find_recipe(path: Path | str) -> Path:
    """``path`` as given when it exists; ``recipes/<name>`` (or a bare shipped recipe name) → the bundled file."""
    path = Path(path)
    if path.exists() or path.is_absolute():
        return path
    parts = path.parts
    if (len(parts) == 2 and parts[0] == "recipes") or len(parts) == 1:
        shipped = data_dir("recipes") / parts[-1]
        if shipped.is_file():
            return shipped
    return path
