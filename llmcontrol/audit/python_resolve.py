"""Static evaluation of Python expressions for the scanners: what a name, attribute or
call refers to (`Ref`), which string a name holds, what a URL expression renders to,
and the purpose hints around a call.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import PurePosixPath

from llmcontrol.audit import patterns
from llmcontrol.audit.models import Hint, RawSite, Ref
from llmcontrol.audit.python_index import ModuleIndex, Scope

MAX_DEPTH = 12


class Resolver:
    def __init__(self, tree: ast.Module, relative_path: str) -> None:
        self.index = ModuleIndex(tree)
        self.file_stem = PurePosixPath(relative_path).stem
        # Answers per (question, scope, name). An entry is None while it is being worked
        # out, which also cuts cycles like `text = text.strip()`: without this the search
        # through rebinding chains is exponential.
        self._refs: dict[tuple[object, ...], Ref | None] = {}
        self._literals: dict[tuple[object, ...], str | None] = {}

    def _remember(self, key: tuple[object, ...], compute: Callable[[], Ref | None]) -> Ref | None:
        if key in self._refs:
            return self._refs[key]
        self._refs[key] = None
        self._refs[key] = found = compute()
        return found

    def resolve(self, expr: ast.expr, scope: Scope, depth: int = 0) -> Ref | None:
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.Name):
            return self._remember(("name", id(scope), expr.id),
                                  lambda: self._resolve_name(expr.id, scope, depth))
        if isinstance(expr, ast.Attribute):
            if isinstance(expr.value, ast.Name) and expr.value.id in ("self", "cls"):
                ref = self._remember(
                    ("member", scope.class_name, expr.attr),
                    lambda: self._resolve_member(scope.class_name, expr.attr, depth))
                if ref is not None:
                    return ref
            base = self.resolve(expr.value, scope, depth + 1)
            return Ref(f"{base.path}.{expr.attr}", base.ctor) if base else None
        if isinstance(expr, ast.Call):
            returned = self._resolve_local_function_call(expr.func, scope, depth)
            if returned is not None:
                return returned
            base = self.resolve(expr.func, scope, depth + 1)
            return Ref(f"{base.path}()", expr) if base else None
        if isinstance(expr, ast.Await):
            return self.resolve(expr.value, scope, depth + 1)
        if isinstance(expr, ast.IfExp):
            return self.resolve(expr.body, scope, depth + 1) or self.resolve(
                expr.orelse, scope, depth + 1)
        if isinstance(expr, ast.BoolOp):
            for value in expr.values:
                ref = self.resolve(value, scope, depth + 1)
                if ref is not None:
                    return ref
        return None

    def _resolve_name(self, name: str, scope: Scope, depth: int) -> Ref | None:
        for value, value_scope in scope.lookup(name):
            ref = self.resolve(value, value_scope, depth + 1)
            if ref is not None:
                return ref
        annotation = scope.annotation(name)
        if annotation is not None:
            return self._instance_of(annotation[0], annotation[1], depth)
        origin = self.index.imports.get(name)
        return Ref(origin) if origin else None

    def _resolve_member(self, class_name: str | None, attr: str, depth: int) -> Ref | None:
        if class_name is None:
            return None
        for value, value_scope in self.index.members(class_name, attr):
            ref = self.resolve(value, value_scope, depth + 1)
            if ref is not None:
                return ref
        for returned, value_scope in self.index.property_returns(class_name, attr):
            ref = self.resolve(returned, value_scope, depth + 1)
            if ref is not None:
                return ref
        annotation = self.index.member_annotation(class_name, attr)
        return self._instance_of(*annotation, depth) if annotation else None

    def _instance_of(self, annotation: ast.expr, scope: Scope, depth: int) -> Ref | None:
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(annotation, ast.BinOp):  # `Anthropic | None`
            annotation = annotation.left
        ref = self.resolve(annotation, scope, depth + 1)
        return Ref(f"{ref.path}()") if ref else None

    def _resolve_local_function_call(self, func: ast.expr, scope: Scope, depth: int) -> Ref | None:
        if isinstance(func, ast.Name) and not scope.binds(func.id):
            owner, name = None, func.id
        elif (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
              and func.value.id in ("self", "cls")):
            owner, name = scope.class_name, func.attr
        else:
            return None
        return self._remember(("returns", owner, name),
                              lambda: self._resolve_returns(owner, name, depth))

    def _resolve_returns(self, owner: str | None, name: str, depth: int) -> Ref | None:
        for returned, value_scope in self.index.function_returns(owner, name):
            ref = self.resolve(returned, value_scope, depth + 1)
            if ref is not None:
                return ref
        return None

    def strings(self, expr: ast.AST, scope: Scope, depth: int = 0,
                seen: set[tuple[int, str]] | None = None) -> list[str]:
        """Every string literal inside `expr`, following names to what they were bound to."""
        if depth > 3:
            return []
        seen = set() if seen is None else seen
        out: list[str] = []
        for node in ast.walk(expr):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.append(node.value)
            elif isinstance(node, ast.Name) and (id(scope), node.id) not in seen:
                seen.add((id(scope), node.id))  # each name once: `s = s + "..."` chains
                for value, value_scope in scope.lookup(node.id):
                    out.extend(self.strings(value, value_scope, depth + 1, seen))
        return out

    def literal(self, expr: ast.expr | None, scope: Scope, depth: int = 0) -> str | None:
        """The string value of a literal or of a name bound to one (`model=MODEL`)."""
        if expr is None or depth > 4:
            return None
        if isinstance(expr, ast.Constant):
            return expr.value if isinstance(expr.value, str) else None
        if isinstance(expr, ast.JoinedStr):
            parts = [self.literal(v.value if isinstance(v, ast.FormattedValue) else v, scope,
                                  depth + 1) for v in expr.values]
            return "".join(parts) if all(p is not None for p in parts) else None  # type: ignore[arg-type]
        if isinstance(expr, ast.Name):
            key = (id(scope), expr.id)
            if key not in self._literals:
                self._literals[key] = None  # a cycle answers None
                self._literals[key] = next(
                    (found for value, value_scope in scope.lookup(expr.id)
                     if (found := self.literal(value, value_scope, depth + 1)) is not None),
                    None)
            return self._literals[key]
        if (isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name)
                and expr.value.id in ("self", "cls") and scope.class_name):
            for value, value_scope in self.index.members(scope.class_name, expr.attr):
                found = self.literal(value, value_scope, depth + 1)
                if found is not None:
                    return found
        return None

    def render(self, expr: ast.expr, scope: Scope, depth: int = 0) -> str:
        """A URL expression as text, with `{}` where a part is not known."""
        known = self.literal(expr, scope)
        if known is not None or depth > 4:
            return known if known is not None else "{}"
        if isinstance(expr, ast.JoinedStr):
            return "".join(self.render(v.value if isinstance(v, ast.FormattedValue) else v,
                                       scope, depth + 1) for v in expr.values)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self.render(expr.left, scope, depth + 1) + self.render(expr.right, scope,
                                                                          depth + 1)
        if isinstance(expr, ast.Name):
            for value, value_scope in scope.lookup(expr.id):
                return self.render(value, value_scope, depth + 1)
        return "{}"

    def dict_of(self, expr: ast.expr | None, scope: Scope, depth: int = 0) -> ast.Dict | None:
        """The dict literal an expression is, or a name was bound to."""
        if isinstance(expr, ast.Dict):
            return expr
        if isinstance(expr, ast.Name) and depth < 4:
            for value, value_scope in scope.lookup(expr.id):
                found = self.dict_of(value, value_scope, depth + 1)
                if found is not None:
                    return found
        return None

    # -- hints and bookkeeping -------------------------------------------------------

    def hints(self, call: ast.AST, scope: Scope) -> list[Hint]:
        hints = [Hint(source, text) for source, text in scope.names()]
        target = self.index.assigned_name(call) if isinstance(call, ast.Call) else None
        if target:
            hints.append(Hint("variable name", target))
        hints.append(Hint("file name", self.file_stem))
        prompt = patterns.prompt_text(self.strings(call, scope))
        if prompt.strip():
            hints.append(Hint("prompt text", prompt))
        return hints

    def ctor_hints(self, ctor: ast.Call, scope: Scope) -> list[Hint]:
        hints = []
        factory = dotted(ctor.func)
        if factory:
            hints.append(Hint("client factory", factory.rpartition(".")[2]))
        for key in ("purpose", "sub_agent", "phase"):
            value = self.literal(keyword(ctor, key), scope)
            if value:
                hints.append(Hint(key.replace("_", "-"), value))
        return hints

    def raw(self, call: ast.expr | ast.stmt, scope: Scope, *, sdk: str, call_name: str,
             model: str | None, streaming: bool, migrated: bool, hints: list[Hint]) -> RawSite:
        function, lines = function_of(scope, call)
        return RawSite(line=call.lineno, sdk=sdk, call=call_name, model=model,
                       streaming=streaming, migrated=migrated, function=function,
                       function_lines=lines, hints=hints)


def function_of(scope: Scope, call: ast.expr | ast.stmt) -> tuple[str | None, int]:
    node = scope.node
    if node is None:
        return None, (call.end_lineno or call.lineno) - call.lineno + 1
    return scope.qualname, (node.end_lineno or node.lineno) - node.lineno + 1


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def is_true(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is True


def dict_get(node: ast.Dict, key: str) -> ast.expr | None:
    for k, v in zip(node.keys, node.values, strict=True):
        if isinstance(k, ast.Constant) and k.value == key:
            return v
    return None


def dotted(expr: ast.expr) -> str | None:
    """`a.b[].c()` for `a.b[key].c(...)`, or None when it starts with anything else."""
    parts = []
    while isinstance(expr, ast.Attribute | ast.Subscript):
        parts.append(expr.attr if isinstance(expr, ast.Attribute) else "[]")
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
    elif isinstance(expr, ast.Call):
        inner = dotted(expr.func)
        parts.append(f"{inner}()" if inner else "()")
    else:
        return None
    return ".".join(reversed(parts)).replace(".[]", "[]")
