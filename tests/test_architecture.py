"""Layering: the implementation, the reference model and the checker stay independent.

``impl/`` must never import ``model`` or ``checker`` (the checker and the model judge the
implementation, so it must not borrow their code), and ``model/`` must never import
``impl`` or ``checker`` (the model is an independent reading of the spec). Checked by an AST
scan of every module, including relative and dynamic (``importlib.import_module`` /
``__import__`` with a constant name) imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    """The installed name of a source file: ``impl/sim/run.py`` is ``asfl.impl.sim.run``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts if parts[0] == "asfl" else ["asfl", *parts])


def layer(name: str) -> str:
    """The top-level folder a dotted module name belongs to (``asfl.model.x`` -> ``model``)."""
    parts = name.split(".")
    return parts[1] if parts[0] == "asfl" and len(parts) > 1 else parts[0]


def imported_modules(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """Every module ``path`` (or ``source`` read as if it were at ``path``) imports, as
    absolute dotted names, with line numbers."""
    text = source if source is not None else path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def violations(package: str, forbidden: set[str]) -> list[str]:
    files = sorted((ROOT / package).rglob("*.py"))
    out = []
    for path in files:
        for line, name in imported_modules(path):
            if layer(name) in forbidden:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return out


@pytest.mark.parametrize(
    "package,forbidden",
    [
        ("impl", {"model", "checker", "harness", "experiments"}),
        ("experiments", {"model", "checker", "harness"}),
        ("model", {"impl", "checker", "harness"}),
        ("checker", {"impl", "harness"}),
    ],
)
def test_layering(package: str, forbidden: set[str]) -> None:
    """Architecture (specs/protocol.md preamble: impl/, model/ and checker/ are independent
    readings of the spec): impl/ never imports model or checker; model/ never imports impl
    or checker; checker/ never imports impl (it is an independent oracle of impl/)."""
    if not (ROOT / package).is_dir():
        pytest.skip(f"{package}/ does not exist yet")
    assert list((ROOT / package).rglob("*.py")), f"no modules found under {package}/"
    assert violations(package, forbidden) == []


def test_scanner_sees_every_import_form() -> None:
    """Architecture (self-check): the scan resolves absolute, from-, relative and dynamic
    imports, so the layering test cannot pass vacuously."""
    source = (
        "import asfl.model.protocol\n"
        "from asfl.checker import check\n"
        "from .. import model\n"
        "import importlib\n"
        "importlib.import_module('asfl.checker.core')\n"
        "__import__('asfl.model')\n"
    )
    names = [name for _, name in imported_modules(ROOT / "impl" / "sim" / "probe.py", source)]
    assert "asfl.model.protocol" in names
    assert "asfl.checker" in names
    # relative: from impl/sim, ``..`` is asfl.impl, not the model
    assert "asfl.impl.model" in names and layer("asfl.impl.model") == "impl"
    assert "asfl.checker.core" in names and "asfl.model" in names
    assert {layer(n) for n in names} >= {"model", "checker", "impl"}


def test_nodes_share_only_the_node_layer() -> None:
    """Architecture (issue 13): the aggregator and the client are peers; neither imports the
    other, they share what they have in common through impl/node.py, impl/certify.py and
    impl/trace.py."""
    for mine, other in (("aggregator", "client"), ("client", "aggregator")):
        names = [name for _, name in imported_modules(ROOT / "impl" / f"{mine}.py")]
        assert not [n for n in names if n.startswith(f"asfl.impl.{other}")], (mine, names)
