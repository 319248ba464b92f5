"""The package's imports point forward only, along the pipeline; only the writer loads genanki, only the CLI click."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from deckgen import build_decks

from conftest import write_deck

PACKAGE = Path(__file__).resolve().parents[1] / "deckgen"

# The stages in order: a module may import the ones before it, never one after it.
STAGES = [
    "version", "errors", "reading", "places", "syntax", "ids", "time_limit", "note_types", "anki_cloze", "media", "sanitize", "settings", "front_matter", "library",
    "parse", "identity_file", "delivered", "legacy_record", "ownership", "grouping", "note_type_guard", "identify", "tags",
    "markdown_ext.math", "markdown_ext.block_start", "markdown_ext.list_indent", "markdown_ext.images",
    "markdown_ext.linear_time", "markdown_ext.line_breaks", "markdown_ext.obsidian", "markdown_ext",
    "render_cache", "render", "plan", "staging", "changelog", "preview", "package", "stamp", "build", "cli",
    "", "__main__",  # "": the package itself, which re-exports build_decks
]
ONLY = {"genanki": {"package"}, "click": {"cli"}}


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
                    found.add(sub if sub in STAGES else target)
            else:
                found.add(target)
    found.discard(name)
    return found


GRAPH = {module_name(path): imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_has_its_place_in_the_pipeline():
    assert sorted(GRAPH) == sorted(STAGES)


def backward_imports(graph: dict[str, set[str]]) -> list[str]:
    return [f"{module} imports {target}, a later stage" for module, targets in graph.items()
            for target in targets if target in STAGES and STAGES.index(target) > STAGES.index(module)]


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

    for module in STAGES:
        if module not in state:
            visit(module, [module])


def test_only_the_writer_imports_genanki_and_only_the_cli_imports_click():
    for library, allowed in ONLY.items():
        assert sorted(m for m, targets in GRAPH.items() if f"<{library}>" in targets) == sorted(allowed)


def test_an_import_moved_into_a_function_is_still_a_dependency():
    source = "import re\n\ndef later():\n    from .render import RenderedText\n    from ..media import x\n"
    assert imports_of("identify", False, source) == {"<re>", "render", "media"}
    assert imports_of("markdown_ext.images", False, source) == {"<re>", "markdown_ext.render", "media"}
    assert backward_imports({"identify": imports_of("identify", False, source)}) == [
        "identify imports render, a later stage"]


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
