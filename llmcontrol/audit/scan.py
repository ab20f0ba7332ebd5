"""Walks a tree, hands each source file to its scanner, and applies the folder rules."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from llmcontrol.audit.classify import estimate_tier, is_local_call
from llmcontrol.audit.js_scanner import scan_js
from llmcontrol.audit.models import (
    CallSite,
    ParseFailure,
    PythonScan,
    RawSite,
    ScanResult,
    Unparseable,
)
from llmcontrol.audit.python_scanner import scan_python

DEFAULT_ARCHIVE_DIRS = ("archive", "archived", "legacy", "deprecated")
SKIPPED_DIRS = frozenset({
    "node_modules", ".venv", "venv", ".git", "dist", "build", "__pycache__", "site-packages",
})
LANGUAGES = {
    ".py": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
}
# Bigger than any hand-written module; usually a bundle or generated code.
MAX_FILE_BYTES = 2 * 1024 * 1024


def audit_tree(root: Path, excludes: Iterable[str] = (),
               archive_dirs: Iterable[str] = DEFAULT_ARCHIVE_DIRS) -> ScanResult:
    """Every LLM call site under `root` (a folder or a single file)."""
    root = root.resolve()
    archive_names = {name.lower() for name in archive_dirs}
    result = ScanResult(root=str(root))
    base = root.parent if root.is_file() else root
    python_scans: list[tuple[str, bool, PythonScan]] = []
    for path in _source_files(root, list(excludes)):
        relative = path.relative_to(base).as_posix()
        language = LANGUAGES[path.suffix.lower()]
        try:
            scanned = _scan_file(path, relative, language)
        except ParseFailure as exc:
            result.unparseable.append(Unparseable(relative, str(exc)))
            continue
        result.files_scanned += 1
        archived = any(part.lower() in archive_names
                       for part in PurePosixPath(relative).parts[:-1])
        if isinstance(scanned, PythonScan):
            python_scans.append((relative, archived, scanned))
            scanned = scanned.sites
        result.sites.extend(_site(raw, relative, language, archived) for raw in scanned)
    result.sites.extend(_site(raw, relative, "python", archived)
                        for relative, archived, raw in _hooked_builders(python_scans))
    result.sites.sort(key=lambda s: (s.file, s.line))
    result.unparseable.sort(key=lambda u: u.file)
    return result


def _scan_file(path: Path, relative: str, language: str) -> PythonScan | list[RawSite]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ParseFailure(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB (generated?)")
        source = path.read_bytes()
    except OSError as exc:
        raise ParseFailure(f"unreadable: {exc.strerror or exc}") from exc
    try:
        if language == "python":
            return scan_python(source, relative)
        return scan_js(source, relative, language)
    except RecursionError as exc:
        raise ParseFailure("nested too deeply to analyse (generated code?)") from exc
    except ParseFailure:
        raise
    except Exception as exc:  # one odd file must not end a codebase-wide audit
        raise ParseFailure(f"scanner error, please report it: {type(exc).__name__}: {exc}") from exc


def _hooked_builders(scans: list[tuple[str, bool, PythonScan]]) -> Iterator[
        tuple[str, bool, RawSite]]:
    """Sites split across files: a base class POSTs to `self._chat_call()`'s path (a hook)
    and a subclass's `_chat_call` returns `"/api/chat"` (a builder). Classes are matched by
    name, the way a reader would follow them."""
    bases: dict[str, set[str]] = {}
    hooks = {}
    for _, _, scan in scans:
        for name, names in scan.class_bases.items():
            bases.setdefault(name, set()).update(names)
        hooks.update({(hook.class_name, hook.method): hook for hook in scan.hooks})
    if not hooks:
        return
    for relative, archived, scan in scans:
        for builder in scan.builders:
            hook = next((hooks[(ancestor, builder.method)]
                         for ancestor in _ancestors(builder.class_name, bases)
                         if (ancestor, builder.method) in hooks), None)
            if hook is not None:
                builder.site.call = f"{hook.callee} {builder.path}"
                yield relative, archived, builder.site


def _ancestors(name: str, bases: dict[str, set[str]]) -> list[str]:
    seen = [name]
    for current in seen:  # grows while it is walked: a breadth-first closure
        seen.extend(b for b in sorted(bases.get(current, ())) if b not in seen)
    return seen


def _site(raw: RawSite, relative: str, language: str, archived: bool) -> CallSite:
    tier, reason = estimate_tier(raw.model, raw.hints)
    return CallSite(
        file=relative, line=raw.line, language="typescript" if language == "tsx" else language,
        sdk=raw.sdk, call=raw.call, model=raw.model, streaming=raw.streaming,
        archived=archived, migrated=raw.migrated,
        local=is_local_call(raw.sdk, raw.call, raw.model), tier=tier, tier_reason=reason,
        function=raw.function, function_lines=raw.function_lines,
    )


def _source_files(root: Path, excludes: list[str]) -> Iterator[Path]:
    if root.is_file():
        if root.suffix.lower() in LANGUAGES:
            yield root
        return
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        relative_dir = here.relative_to(root).as_posix()
        subdirs[:] = sorted(
            d for d in subdirs
            if d not in SKIPPED_DIRS and not _excluded(_join(relative_dir, d), excludes)
        )
        for name in sorted(files):
            suffix = Path(name).suffix.lower()
            if suffix not in LANGUAGES or name.endswith((".d.ts", ".min.js")):
                continue
            if not _excluded(_join(relative_dir, name), excludes):
                yield here / name


def _join(directory: str, name: str) -> str:
    return name if directory == "." else f"{directory}/{name}"


def _excluded(relative: str, excludes: list[str]) -> bool:
    """A glob matches the relative path of a file or folder, or any one of its names."""
    name = relative.rpartition("/")[2]
    return any(fnmatch.fnmatch(relative, pattern.rstrip("/")) or fnmatch.fnmatch(name, pattern)
               for pattern in excludes)
