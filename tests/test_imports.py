"""The package's imports point forward only, along the pipeline; only the writer loads genanki, only the CLI click,
only `hashing` hashlib."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from deckgen import build_decks

from conftest import write_deck

PACKAGE = Path(__file__).resolve().parents[1] / "deckgen"

# The stages in order: a module may import modules of its own stage or an earlier one, never a later one's.
# A stage is a sub-package (or, past the pipeline, a module); the basics every stage uses come first.
BASICS = ("version", "errors", "hashing", "reading", "places", "names")
STAGES = ["basics", "sources", "parse", "identify", "render", "plan", "output", "deliver", "build", "cli",
          "", "__main__"]  # "": the package itself, which re-exports build_decks
ONLY = {"genanki": {"output.package"}, "click": {"cli"}, "hashlib": {"hashing"}, "anki": {"deliver.collection"}}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    return imports_of(module_name(path), path.name == "__init__.py", path.read_text(encoding="utf-8"))


def imports_of(name: str, is_package: bool, source: str) -> set[str]:
    """Every module `source` imports, at any depth (in a function too): deckgen's by stage name, others by top name."""
    package = (name.split(".") if name else []) if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(f"<{alias.name.split('.')[0]}>" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.add(f"<{node.module.split('.')[0]}>")
                continue
            base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
            target = ".".join(base + ([node.module] if node.module else []))
            if node.module is None:  # from . import x: x may be a module of the package
                for alias in node.names:
                    sub = ".".join(base + [alias.name])
                    found.add(sub if sub in MODULES else target)
            else:
                found.add(target)
    found.discard(name)
    return found


def stage_of(module: str) -> str:
    return "basics" if module in BASICS else module.split(".")[0]


MODULES = {module_name(path) for path in PACKAGE.rglob("*.py")}
GRAPH = {module_name(path): imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_has_its_place_in_the_pipeline():
    assert sorted(m for m in GRAPH if stage_of(m) not in STAGES) == []
    assert [stage for stage in STAGES if not any(stage_of(m) == stage for m in GRAPH)] == []


def backward_imports(graph: dict[str, set[str]]) -> list[str]:
    return [f"{module} imports {target}, a later stage" for module, targets in graph.items()
            for target in targets if not target.startswith("<")
            and STAGES.index(stage_of(target)) > STAGES.index(stage_of(module))]


def test_imports_point_only_forward_and_make_no_cycle():
    assert backward_imports(GRAPH) == []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:  # a cycle would show even if STAGES were wrong
        state[module] = "open"
        for target in sorted(t for t in GRAPH[module] if t in GRAPH):
            assert state.get(target) != "open", f"import cycle: {' -> '.join(path + [target])}"
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])


def test_only_the_writer_imports_genanki_the_deliverer_anki_the_cli_click_and_hashing_hashlib():
    for library, allowed in ONLY.items():
        assert sorted(m for m, targets in GRAPH.items() if f"<{library}>" in targets) == sorted(allowed)


def test_an_import_moved_into_a_function_is_still_a_dependency():
    source = "import re\n\ndef later():\n    from ..render.decks import RenderedText\n    from ..names import x\n"
    assert imports_of("identify.matcher", False, source) == {"<re>", "render.decks", "names"}
    assert imports_of("render.markdown_ext.images", False, "from ...names import x\nfrom .. import media") == {
        "names", "render.media"}
    assert backward_imports({"identify.matcher": imports_of("identify.matcher", False, source)}) == [
        "identify.matcher imports render.decks, a later stage"]


def test_check_and_diff_never_load_genanki(tmp_path):
    src = tmp_path / "src"
    write_deck(src, "deck", "### A?\nAn answer.\n### B?\n```python\nprint(1)\n```\n")
    build_decks(src, tmp_path / "out")
    (src / "deck.md").write_text("### A?\nAn edited answer.\n", encoding="utf-8")
    code = ("import sys\nfrom deckgen.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('genanki' in sys.modules, 'markdown' in sys.modules)\n")
    for command in ("check", "diff"):
        out = subprocess.run([sys.executable, "-c", code, command, str(src), "-o", str(tmp_path / "out2")],
                             capture_output=True, text=True, check=True)
        assert out.stdout.splitlines()[-1] == "False True", (command, out.stdout, out.stderr)


def walks(source: str) -> bool:
    """Whether `source` walks folders: os.walk, os.scandir, os.listdir (as `os.X` or imported from os), or a
    Path's rglob, walk or iterdir."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                alias.name in ("walk", "scandir", "listdir") for alias in node.names):
            return True
        if isinstance(node, ast.Attribute) and (
                node.attr in ("walk", "scandir", "listdir") and isinstance(node.value, ast.Name)
                and node.value.id == "os" or node.attr in ("rglob", "iterdir")):
            return True
    return False


# Walks that are not of a library: the installed code whose change starts the render cache afresh.
NOT_A_LIBRARY = {"render.cache"}


def test_the_library_is_walked_in_one_place():
    """One walk (`sources.library.walk`) for the decks and for the images Obsidian finds by name: a second one
    would have rules of its own (one left out hidden folders, another did not)."""
    walkers = sorted(module_name(path) for path in PACKAGE.rglob("*.py") if walks(path.read_text(encoding="utf-8")))
    assert [module for module in walkers if module not in NOT_A_LIBRARY] == ["sources.library"]
    assert all(walks(code) for code in ("import os\nos.walk('.')", "from os import scandir", "Path('.').rglob('*')"))
