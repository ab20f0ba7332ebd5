"""One pass over a Python module: imports, scopes, what each name was bound to, and calls.

The scanner asks it "what was `client` bound to here?" and "what does `make_client()`
return?"; it answers with expressions plus the scope they must be read in.
"""

from __future__ import annotations

import ast
from collections import defaultdict

from llmcontrol.audit import patterns

Binding = tuple[ast.expr, "Scope"]
FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)


class Scope:
    """A function's names (or the module's, when `node` is None)."""

    def __init__(self, node: ast.FunctionDef | ast.AsyncFunctionDef | None, qualname: str,
                 class_name: str | None, parent: Scope | None) -> None:
        self.node = node
        self.qualname = qualname
        self.class_name = class_name
        self.parent = parent
        self.bindings: dict[str, list[ast.expr]] = defaultdict(list)
        self.annotations: dict[str, Binding] = {}
        self.returns: list[ast.expr] = []
        self.globals: set[str] = set()

    def lookup(self, name: str) -> list[Binding]:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.bindings:
                return [(value, scope) for value in scope.bindings[name]]
            scope = scope.parent
        return []

    def annotation(self, name: str) -> Binding | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.annotations:
                return scope.annotations[name]
            scope = scope.parent
        return None

    def binds(self, name: str) -> bool:
        """Whether a function (not the module) around here binds the name."""
        scope: Scope | None = self
        while scope is not None and scope.node is not None:
            if name in scope.bindings or name in scope.annotations:
                return True
            scope = scope.parent
        return False

    def names(self) -> list[tuple[str, str]]:
        """Enclosing function and class names, innermost first: purpose hints."""
        out = []
        scope: Scope | None = self
        while scope is not None and scope.node is not None:
            out.append(("function name", scope.node.name))
            scope = scope.parent
        if self.class_name:
            out.append(("class name", self.class_name))
        return out


class ModuleIndex:
    def __init__(self, tree: ast.Module) -> None:
        self.imports: dict[str, str] = {}
        self.imported_sdks: set[str] = set()
        self.module_scope = Scope(None, "", None, None)
        self._members: dict[tuple[str, str], list[Binding]] = defaultdict(list)
        self._member_annotations: dict[tuple[str, str], Binding] = {}
        self._functions: dict[tuple[str | None, str], list[Scope]] = defaultdict(list)
        self._properties: dict[tuple[str, str], list[Scope]] = defaultdict(list)
        self._methods: list[tuple[str, str, Scope]] = []
        self.class_bases: dict[str, list[str]] = {}
        self._calls: list[tuple[ast.Call, Scope]] = []
        self._parents: dict[int, ast.AST] = {}
        self._collect_imports(tree)
        self._visit(tree, self.module_scope)

    # -- questions ---------------------------------------------------------------------

    def calls(self) -> list[tuple[ast.Call, Scope]]:
        return self._calls

    def members(self, class_name: str, attr: str) -> list[Binding]:
        return self._members.get((class_name, attr), [])

    def member_annotation(self, class_name: str, attr: str) -> Binding | None:
        return self._member_annotations.get((class_name, attr))

    def function_returns(self, class_name: str | None, name: str) -> list[Binding]:
        return [(r, s) for s in self._functions.get((class_name, name), []) for r in s.returns]

    def property_returns(self, class_name: str, name: str) -> list[Binding]:
        return [(r, s) for s in self._properties.get((class_name, name), []) for r in s.returns]

    def methods(self) -> list[tuple[str, str, Scope]]:
        """(class name, method name, scope) of every method."""
        return self._methods

    def assigned_name(self, call: ast.Call) -> str | None:
        node: ast.AST = call
        parent = self._parents.get(id(node))
        while isinstance(parent, ast.Await):
            node, parent = parent, self._parents.get(id(parent))
        target: ast.AST | None = None
        if isinstance(parent, ast.Assign) and parent.value is node:
            target = parent.targets[0]
        elif isinstance(parent, ast.AnnAssign | ast.NamedExpr) and parent.value is node:
            target = parent.target
        elif isinstance(parent, ast.withitem) and parent.context_expr is node:
            target = parent.optional_vars
        if isinstance(target, ast.Name):
            return target.id
        if isinstance(target, ast.Attribute):
            return target.attr
        return None

    # -- building ----------------------------------------------------------------------

    def _collect_imports(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.imports[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.imports[top] = top
                    self._note_sdk(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                    self._note_sdk(f"{node.module}.{alias.name}")

    def _note_sdk(self, module: str) -> None:
        sdk = patterns.sdk_of_module(module)
        if sdk:
            self.imported_sdks.add(sdk)

    def _visit(self, node: ast.AST, scope: Scope, class_name: str | None = None) -> None:
        for child in ast.iter_child_nodes(node):
            self._parents[id(child)] = node
            if isinstance(child, FUNCTION_NODES):
                self._visit_function(child, scope, class_name, is_method=False)
            elif isinstance(child, ast.ClassDef):
                self._visit_class(child, scope)
            else:
                self._record(child, scope)
                self._visit(child, scope, class_name)

    def _visit_class(self, node: ast.ClassDef, scope: Scope) -> None:
        # Class-body names are not visible to methods; they become members (`self.MODEL`).
        self.class_bases[node.name] = [
            _base_name(base) for base in node.bases if _base_name(base)]  # type: ignore[misc]
        for expr in [*node.bases, *node.keywords, *node.decorator_list]:
            self._visit_expr(expr, scope, scope.class_name)
        for statement in node.body:
            self._parents[id(statement)] = node
            if isinstance(statement, FUNCTION_NODES):
                self._visit_function(statement, scope, node.name, is_method=True)
            elif isinstance(statement, ast.ClassDef):
                self._visit_class(statement, scope)
            else:
                self._class_body_binding(node.name, statement, scope)
                self._visit_expr(statement, scope, node.name)

    def _visit_expr(self, expr: ast.AST, scope: Scope, class_name: str | None) -> None:
        if isinstance(expr, ast.Call):
            self._calls.append((expr, scope))
        self._visit(expr, scope, class_name)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope,
                        class_name: str | None, is_method: bool) -> None:
        for expr in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if expr is not None:
                self._visit_expr(expr, scope, class_name)
        prefix = f"{scope.qualname}." if scope.qualname else (
            f"{class_name}." if is_method and class_name else "")
        function_scope = Scope(node, prefix + node.name, class_name, scope)
        args = node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.annotation is not None:
                function_scope.annotations[arg.arg] = (arg.annotation, scope)
        self._functions[(class_name if is_method else None, node.name)].append(function_scope)
        if is_method and class_name:
            self._methods.append((class_name, node.name, function_scope))
        if is_method and class_name and any(
                _decorator_name(d) in ("property", "cached_property") for d in node.decorator_list):
            self._properties[(class_name, node.name)].append(function_scope)
        for statement in node.body:
            self._parents[id(statement)] = node
            if isinstance(statement, FUNCTION_NODES):
                self._visit_function(statement, function_scope, class_name, is_method=False)
            elif isinstance(statement, ast.ClassDef):
                self._visit_class(statement, function_scope)
            else:
                self._record(statement, function_scope)
                self._visit(statement, function_scope, class_name)

    def _record(self, node: ast.AST, scope: Scope) -> None:
        if isinstance(node, ast.Call):
            self._calls.append((node, scope))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind_target(target, node.value, scope)
        elif isinstance(node, ast.AnnAssign):
            if isinstance(node.target, ast.Name):
                scope.annotations[node.target.id] = (node.annotation, scope)
            elif _is_self_attribute(node.target) and scope.class_name:
                key = (scope.class_name, node.target.attr)  # type: ignore[union-attr]
                self._member_annotations[key] = (node.annotation, scope)
            if node.value is not None:
                self._bind_target(node.target, node.value, scope)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            self._bind_target(node.optional_vars, node.context_expr, scope)
        elif isinstance(node, ast.NamedExpr):
            self._bind_target(node.target, node.value, scope)
        elif isinstance(node, ast.Return) and node.value is not None:
            scope.returns.append(node.value)
        elif isinstance(node, ast.Global):
            scope.globals.update(node.names)

    def _bind_target(self, target: ast.expr, value: ast.expr, scope: Scope) -> None:
        if isinstance(target, ast.Name):
            owner = self.module_scope if target.id in scope.globals else scope
            owner.bindings[target.id].append(value)
        elif _is_self_attribute(target) and scope.class_name:
            self._members[(scope.class_name, target.attr)].append((value, scope))  # type: ignore[attr-defined]
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            for sub_target, sub_value in zip(target.elts, value.elts, strict=False):
                self._bind_target(sub_target, sub_value, scope)
        elif isinstance(target, ast.Tuple):
            # `path, params, body = self._chat_call(...)`: each name comes from that call.
            for sub_target in target.elts:
                if isinstance(sub_target, ast.Name):
                    self._bind_target(sub_target, value, scope)

    def _class_body_binding(self, class_name: str, statement: ast.stmt, scope: Scope) -> None:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    self._members[(class_name, target.id)].append((statement.value, scope))
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            key = (class_name, statement.target.id)
            self._member_annotations[key] = (statement.annotation, scope)
            if statement.value is not None:
                self._members[key].append((statement.value, scope))


def _is_self_attribute(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls"))


def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Subscript):  # Generic[C]
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _decorator_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None

