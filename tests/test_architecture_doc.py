"""docs/architecture.md stays true to the code: every module it names exists, and every module is named.

The layering itself is checked by ``lint-imports`` (``make lint``); this checks the map a reader uses.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("adaptive", "content", "app")
GENERIC = {"__init__.py", "views.py", "services.py", "forms.py"}
"""Modules every domain package has (the doc describes the pattern once), or that say nothing new."""


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _quoted(text: str) -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", text))


def _modules() -> list[Path]:
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "static" in path.parts or "templates" in path.parts or "packs" in path.parts:
                continue
            out.append(path.relative_to(ROOT))
    return out


@pytest.mark.parametrize("module", _modules(), ids=str)
def test_every_module_is_named_in_the_doc(module: Path) -> None:
    quoted = _quoted(_text())
    if len(module.parts) > 2:  # a subpackage: it is named as such, with its modules below it
        assert f"{module.parts[1]}/" in quoted, f"{module.parent}/ is not described in {DOC.name}"
    if module.name in GENERIC and len(module.parts) > 2:
        return
    names = {module.name, str(module), str(module.relative_to(module.parts[0]))}
    assert names & quoted, f"{module} is not described in {DOC.name}: add a line on what it owns"


def test_every_path_the_doc_names_exists() -> None:
    for token in sorted(_quoted(_text())):
        if re.fullmatch(r"(adaptive|content|app|tests|docs|bench|migrations|tools)/[\w./-]*", token):
            assert (ROOT / token).exists(), f"{DOC.name} names {token}, which does not exist"


def test_every_dotted_name_the_doc_gives_resolves() -> None:
    for token in sorted(_quoted(_text())):
        if not re.fullmatch(r"(adaptive|content|app)(\.\w+)+", token):
            continue
        parts = token.split(".")
        name = parts[0]
        obj: object = importlib.import_module(name)
        for part in parts[1:]:
            name = f"{name}.{part}"
            if (not hasattr(obj, part) and hasattr(obj, "__path__")
                    and importlib.util.find_spec(name) is not None):
                importlib.import_module(name)  # a submodule not imported by its package
            assert hasattr(obj, part), f"{DOC.name} names {token}, but {name} does not exist"
            obj = getattr(obj, part)


def test_the_readme_points_to_the_doc_not_to_a_folder_outside_the_clone() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/architecture.md" in readme
    assert "../shared/ARCHITECTURE.md" not in readme
