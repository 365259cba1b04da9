"""Which files under the given paths are flow files, decided by what their code defines.

What is scanned: inside a git work tree, the Python files git tracks or would track (so
`.gitignore` is respected); elsewhere every Python file under the folder, dot-folders
included. Never scanned: version-control, virtual-environment and cache folders (a folder
holding `pyvenv.cfg` is a virtual environment whatever its name), nor what `--exclude`
names. A file given by name is always a candidate.

What is a flow file: a module that runs a flow as a script (it has an
`if __name__ == "__main__":` block) and defines a flow class, or runs one it imports. A
flow class derives from Metaflow's FlowSpec, directly or through base classes defined in
the same file, in another module of the repository or in an installed library; those
modules are read from source, never imported. A class whose bases cannot be read (a
module nowhere to be found, a base computed at run time) is a flow class when it has
`@step` methods, as every flow has.
"""

from __future__ import annotations

import ast
import os
import stat
import sys
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from .errors import UsageError
from .io.process import ToolFailed, run

# Never flows, in a git work tree or not: version control, virtual environments, caches.
SKIPPED_FOLDERS = {".git", ".hg", ".svn", ".venv", "venv", "site-packages", "node_modules", "__pycache__",
                   ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints",
                   ".eggs", ".metaflow"}
# Build output: skipped outside git (inside, .gitignore says what is output).
BUILD_FOLDERS = {"build", "dist"}
# No flow file is this large; a larger *.py (generated code) is not read whole.
FLOW_FILE_CAP = 8 << 20
GIT_TIMEOUT = 60
METAFLOW = "metaflow"


@dataclass
class Scan:
    files: list[Path] = field(default_factory=list)       # flow files to run
    problems: list[tuple[Path, str]] = field(default_factory=list)   # files that could not be read, and why
    notes: list[str] = field(default_factory=list)        # files passed over, and why
    scanned: int = 0                                      # Python files looked at


def find_flow_files(paths: list[str], excludes: tuple[str, ...] = ()) -> Scan:
    scan = Scan()
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise UsageError(f"{given}: no such file or folder")
        if path.is_file():
            scan.scanned += 1
            scan.files.append(path)
            continue
        classes = FlowClasses(path)
        for candidate in python_files(path, excludes, scan.notes):
            scan.scanned += 1
            _classify(candidate, scan, classes)
    return scan


def python_files(folder: Path, excludes: tuple[str, ...], notes: list[str]) -> list[Path]:
    """The Python files under a folder that discovery looks at, sorted."""
    listed = _git_files(folder)
    if not listed:
        walked = _walked_files(folder, excludes)
        if listed is not None and walked:
            # A folder git ignores as a whole, named on purpose: scan it as it is.
            notes.append(f"{folder}: git tracks no Python file here; scanning the folder as it is")
        listed = walked
    return sorted(p for p in listed if not _excluded(p.relative_to(folder), excludes))


def _git_files(folder: Path) -> list[Path] | None:
    """What git tracks or would track under the folder; None outside a git work tree."""
    try:
        done = run(["git", "-C", str(folder), "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                    "--", "*.py"], timeout=GIT_TIMEOUT, what=f"listing the files git tracks under {folder}")
    except ToolFailed:  # no git here, or it hung
        return None
    if not done.ok:
        return None  # not a git work tree
    files, venvs = [], {}
    for name in done.stdout.split("\0"):
        relative = PurePosixPath(name)
        if not name or SKIPPED_FOLDERS.intersection(relative.parts[:-1]):
            continue
        path = folder / relative
        # Tracked files deleted from the work tree are not there; a virtual environment
        # git does not ignore is still no place for flows.
        if os.path.lexists(path) and not _in_virtual_environment(path.parent, folder, venvs):
            files.append(path)
    return files


def _in_virtual_environment(here: Path, top: Path, known: dict[Path, bool]) -> bool:
    if here in known:
        return known[here]
    inside = (here / "pyvenv.cfg").exists() or (here != top and here.parent != here
                                                 and _in_virtual_environment(here.parent, top, known))
    known[here] = inside
    return inside


def _walked_files(folder: Path, excludes: tuple[str, ...]) -> list[Path]:
    files = []
    for root, folders, names in os.walk(folder):
        here = Path(root)
        folders[:] = sorted(
            name for name in folders
            if name not in SKIPPED_FOLDERS and name not in BUILD_FOLDERS and not name.endswith(".egg-info")
            and not (here / name / "pyvenv.cfg").exists()
            and not _excluded((here / name).relative_to(folder), excludes))
        files += [here / name for name in names if name.endswith(".py")]
    return files


def _excluded(relative: Path, patterns: tuple[str, ...]) -> bool:
    """--exclude, as .gitignore reads a pattern: without a slash it matches a file or folder
    name at any depth; with one, the path from the scanned folder (or a folder on it)."""
    parts = PurePosixPath(relative.as_posix()).parts
    for pattern in patterns:
        pattern = pattern.strip("/")
        if "/" not in pattern:
            if any(fnmatchcase(part, pattern) for part in parts):
                return True
        elif any(fnmatchcase("/".join(parts[:end]), pattern) for end in range(1, len(parts) + 1)):
            return True
    return False


def _classify(path: Path, scan: Scan, classes: "FlowClasses") -> None:
    try:
        info = path.stat()
    except OSError as error:
        scan.notes.append(f"skipped {path}: {error.strerror}")
        return
    if not stat.S_ISREG(info.st_mode):
        scan.notes.append(f"skipped {path}: not a regular file")
        return
    if info.st_size > FLOW_FILE_CAP:
        scan.notes.append(f"skipped {path}: {info.st_size >> 20} MB, larger than any flow file")
        return
    try:
        with open(path, "rb") as handle:
            text = handle.read(FLOW_FILE_CAP).decode(errors="replace")
    except OSError as error:
        scan.problems.append((path, f"cannot read the file: {error.strerror}"))
        return
    if classes.runs_a_flow(path, text):
        scan.files.append(path)


# --- reading class hierarchies from source ------------------------------------------------


@dataclass
class Module:
    path: Path
    classes: dict[str, ast.ClassDef]
    # local name -> (module, attribute or None, folder a relative import starts from or None)
    imports: dict[str, tuple[str, str | None, Path | None]]


class FlowClasses:
    """Answers "is this class a flow?" from source. Modules are looked up as `python flow.py`
    would find them (the file's own folder first), then in the folders between the file and
    the scanned root (repositories put shared code there and run with it on PYTHONPATH),
    then on PYTHONPATH and this python's path (installed libraries). Each module is read
    once per scan."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.modules: dict[Path, Module | None] = {}
        self.answers: dict[tuple[Path, str], bool | None] = {}
        self.found: dict[tuple[str, Path], Module | None] = {}   # (module, where it is looked up from)
        self.library_paths = [Path(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p] + [
            Path(p) for p in sys.path if p]

    def runs_a_flow(self, path: Path, text: str) -> bool:
        if "__main__" not in text and METAFLOW not in text:
            return False
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            return METAFLOW in text  # a broken flow is still a flow: report it
        main = [node for node in tree.body if isinstance(node, ast.If) and _is_main_guard(node.test)]
        if not main:
            return False
        module = self._module_of(path.resolve(), tree)
        if any(self.is_flow(module, name) for name in module.classes):
            return True
        used = {node.id for block in main for node in ast.walk(block) if isinstance(node, ast.Name)}
        return any(self.is_flow(module, name) for name in used if name in module.imports)

    def is_flow(self, module: Module, name: str, seen: frozenset = frozenset()) -> bool | None:
        """True: a flow class; False: a class (or module) that is not; None: cannot tell."""
        key = (module.path, name)
        if key in self.answers:
            return self.answers[key]
        if key in seen:
            return None
        seen = seen | {key}
        if name in module.classes:
            answer = self._class_is_flow(module, module.classes[name], seen)
        elif name in module.imports:
            answer = self._imported_is_flow(module, *module.imports[name], seen)
        else:
            answer = None
        self.answers[key] = answer
        return answer

    def _class_is_flow(self, module: Module, node: ast.ClassDef, seen: frozenset) -> bool | None:
        answers = [self._base_is_flow(module, base, seen) for base in node.bases]
        if True in answers:
            return True
        if None in answers:
            return True if _has_steps(node) else None
        return False

    def _base_is_flow(self, module: Module, base: ast.expr, seen: frozenset) -> bool | None:
        dotted = _dotted(base)
        if dotted is None:
            return None   # computed at run time (a call, a subscript)
        if dotted in ("object", "ABC", "Generic"):
            return False
        if "." not in dotted:
            return self.is_flow(module, dotted, seen)
        first, rest = dotted.split(".", 1)
        if first not in module.imports:
            return None
        source, name, anchor = module.imports[first]
        within, attribute = rest.rpartition(".")[::2]
        # `import pkg.mod` then pkg.mod.Base; `from pkg import mod` then mod.Base
        prefix = source if name is None else ".".join(p for p in (source, name) if p)
        return self._imported_is_flow(module, ".".join(p for p in (prefix, within) if p), attribute, anchor, seen)

    def _imported_is_flow(self, module: Module, source: str, attribute: str | None, anchor: Path | None,
                          seen: frozenset) -> bool | None:
        if attribute is None:
            return False  # a module, not a class
        if anchor is None and (source == METAFLOW or source.startswith(METAFLOW + ".")):
            # Metaflow itself is not read: FlowSpec is the root; other names it exports
            # (extensions add some) cannot be told from here.
            return True if attribute == "FlowSpec" else None
        found = self._find(source, module.path, anchor)
        if found is not None and (attribute in found.classes or attribute in found.imports):
            return self.is_flow(found, attribute, seen)
        if self._find(".".join(p for p in (source, attribute) if p), module.path, anchor) is not None:
            return False  # a module, not a class
        return None

    def _find(self, dotted: str, importer: Path, anchor: Path | None) -> Module | None:
        key = (dotted, anchor or importer.parent)
        if key not in self.found:
            self.found[key] = self._search(dotted, importer, anchor)
        return self.found[key]

    def _search(self, dotted: str, importer: Path, anchor: Path | None) -> Module | None:
        parts = dotted.split(".") if dotted else []
        for folder in [anchor] if anchor else self._search_path(importer):
            base = folder.joinpath(*parts)
            for candidate in ((base.with_suffix(".py"),) if parts else ()) + (base / "__init__.py",):
                if candidate.is_file():
                    return self._load(candidate)
        return None

    def _search_path(self, importer: Path) -> list[Path]:
        folders = [importer.parent]
        folders += [parent for parent in importer.parents if parent.is_relative_to(self.root)]
        return list(dict.fromkeys(folders + self.library_paths))

    def _load(self, path: Path) -> Module | None:
        path = path.resolve()
        if path not in self.modules:
            try:
                if path.stat().st_size > FLOW_FILE_CAP:
                    raise OSError
                tree = ast.parse(path.read_bytes())
            except (OSError, SyntaxError, ValueError):
                self.modules[path] = None
                return None
            self._module_of(path, tree)
        return self.modules[path]

    def _module_of(self, path: Path, tree: ast.Module) -> Module:
        if self.modules.get(path) is not None:
            return self.modules[path]
        classes, imports = {}, {}
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                classes[node.name] = node
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        imports[alias.asname] = (alias.name, None, None)
                    else:
                        top = alias.name.split(".")[0]
                        imports[top] = (top, None, None)
            elif isinstance(node, ast.ImportFrom):
                anchor = path.parents[node.level - 1] if 0 < node.level <= len(path.parents) else None
                for alias in node.names:
                    if alias.name != "*":
                        imports[alias.asname or alias.name] = (node.module or "", alias.name, anchor)
        module = Module(path, classes, imports)
        self.modules[path] = module
        return module


def _is_main_guard(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, *test.comparators]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def _has_steps(node: ast.ClassDef) -> bool:
    return any(isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
               and any((_dotted(d.func if isinstance(d, ast.Call) else d) or "").split(".")[-1] == "step"
                       for d in item.decorator_list)
               for item in node.body)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None
