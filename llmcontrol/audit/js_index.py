"""One pass over a JavaScript/TypeScript syntax tree (tree-sitter): imports, scopes,
bindings, class members, function returns, and every call.

Comments, strings and template text are leaves in the tree, so nothing in them is
ever seen as a call; code inside `${...}` is code and is seen.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

import tree_sitter
import tree_sitter_javascript
import tree_sitter_typescript

from llmcontrol.audit.patterns import sdk_of_module

Node = tree_sitter.Node
Binding = tuple[Node, "JsScope"]

FUNCTION_TYPES = frozenset({
    "function_declaration", "function_expression", "function", "arrow_function",
    "method_definition", "generator_function_declaration", "generator_function",
})
CLASS_TYPES = frozenset({"class_declaration", "class", "abstract_class_declaration"})
FIELD_TYPES = frozenset({"field_definition", "public_field_definition"})
PARAMETER_TYPES = frozenset({"required_parameter", "optional_parameter"})

# Package -> (dotted root, what its default export is: a path, or None for a bare namespace).
MODULES = {
    "@anthropic-ai/sdk": ("anthropic", "anthropic.Anthropic"),
    "openai": ("openai", "openai.OpenAI"),
    "@google/genai": ("google.genai", None),
    "@google/generative-ai": ("google.generativeai", None),
    "ollama": ("ollama", "ollama"),  # the default export is a ready client
    "ollama/browser": ("ollama", "ollama"),
    "axios": ("axios", "axios"),
    "node-fetch": ("fetch", "fetch"),
    "cross-fetch": ("fetch", "fetch"),
    "undici": ("undici", None),
}


@cache
def parser_for(dialect: str) -> tree_sitter.Parser:
    if dialect == "typescript":
        language = tree_sitter_typescript.language_typescript()
    elif dialect == "tsx":
        language = tree_sitter_typescript.language_tsx()
    else:
        language = tree_sitter_javascript.language()
    return tree_sitter.Parser(tree_sitter.Language(language))


def text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text else ""


def string_value(node: Node) -> str:
    """The text inside a string or template literal, without quotes; `{}` for `${...}`."""
    parts = []
    for child in node.named_children:
        if child.type == "string_fragment":
            parts.append(text(child))
        elif child.type == "escape_sequence":
            parts.append(text(child)[1:])
        elif child.type == "template_substitution":
            parts.append("{}")
    return "".join(parts)


def function_name(node: Node) -> str:
    name = node.child_by_field_name("name")
    if name is not None:
        return text(name)
    parent = node.parent
    if parent is not None and parent.type == "variable_declarator":
        return text(parent.child_by_field_name("name"))
    if parent is not None and parent.type == "pair":
        return text(parent.child_by_field_name("key"))
    if parent is not None and parent.type == "assignment_expression":
        return text(parent.child_by_field_name("left")).rpartition(".")[2]
    return "<anonymous>"


class JsScope:
    def __init__(self, node: Node | None, qualname: str, class_name: str | None,
                 parent: JsScope | None) -> None:
        self.node = node
        self.qualname = qualname
        self.class_name = class_name
        self.parent = parent
        self.bindings: dict[str, list[Node]] = defaultdict(list)
        self.annotations: dict[str, Node] = {}
        self.returns: list[Node] = []

    def lookup(self, name: str) -> list[Binding]:
        scope: JsScope | None = self
        while scope is not None:
            if name in scope.bindings:
                return [(value, scope) for value in scope.bindings[name]]
            scope = scope.parent
        return []

    def annotation(self, name: str) -> Binding | None:
        scope: JsScope | None = self
        while scope is not None:
            if name in scope.annotations:
                return scope.annotations[name], scope
            scope = scope.parent
        return None

    def names(self) -> list[tuple[str, str]]:
        out = []
        scope: JsScope | None = self
        while scope is not None and scope.node is not None:
            name = function_name(scope.node)
            if name not in ("<anonymous>", "constructor"):
                out.append(("function name", name))
            scope = scope.parent
        if self.class_name:
            out.append(("class name", self.class_name))
        return out


class JsIndex:
    def __init__(self, root: Node) -> None:
        self.imports: dict[str, str] = {}
        self.imported_sdks: set[str] = set()
        self.module_scope = JsScope(None, "", None, None)
        self.members: dict[tuple[str, str], list[Binding]] = defaultdict(list)
        self.member_annotations: dict[tuple[str, str], Binding] = {}
        self.functions: dict[tuple[str | None, str], list[JsScope]] = defaultdict(list)
        self.getters: dict[tuple[str, str], list[JsScope]] = defaultdict(list)
        self.calls: list[tuple[Node, JsScope]] = []
        self._visit(root)

    def function_returns(self, class_name: str | None, name: str) -> list[Binding]:
        return [(r, s) for s in self.functions.get((class_name, name), []) for r in s.returns]

    def getter_returns(self, class_name: str, name: str) -> list[Binding]:
        return [(r, s) for s in self.getters.get((class_name, name), []) for r in s.returns]

    def _visit(self, root: Node) -> None:
        # Explicit stack: minified bundles nest deeper than Python's recursion limit.
        stack: list[tuple[Node, JsScope, str | None]] = [(root, self.module_scope, None)]
        while stack:
            node, scope, class_name = stack.pop()
            kind = node.type
            if kind in FUNCTION_TYPES and node is not root:
                scope = self._enter_function(node, scope, class_name)
            elif kind in CLASS_TYPES:
                class_name = text(node.child_by_field_name("name")) or "<anonymous>"
            else:
                self._record(node, scope, class_name)
            for child in reversed(node.named_children):
                if child.type != "comment":
                    stack.append((child, scope, class_name))

    def _enter_function(self, node: Node, scope: JsScope, class_name: str | None) -> JsScope:
        name = function_name(node)
        is_method = node.type == "method_definition" and _in_class_body(node)
        prefix = f"{scope.qualname}." if scope.qualname else (f"{class_name}." if is_method else "")
        function_scope = JsScope(node, prefix + name, class_name, scope)
        self.functions[(class_name if is_method else None, name)].append(function_scope)
        if is_method and class_name and any(c.type == "get" for c in node.children):
            self.getters[(class_name, name)].append(function_scope)
        body = node.child_by_field_name("body")
        if node.type == "arrow_function" and body is not None and body.type != "statement_block":
            function_scope.returns.append(body)
        for parameter in _parameters(node):
            pattern = parameter.child_by_field_name("pattern")
            annotation = parameter.child_by_field_name("type")
            if pattern is None or pattern.type != "identifier" or annotation is None:
                continue
            type_node = annotation.named_children[0] if annotation.named_children else None
            if type_node is None:
                continue
            function_scope.annotations[text(pattern)] = type_node
            if is_method and class_name and any(
                    c.type == "accessibility_modifier" for c in parameter.named_children):
                self.member_annotations[(class_name, text(pattern))] = (type_node, scope)
        return function_scope

    def _record(self, node: Node, scope: JsScope, class_name: str | None) -> None:
        kind = node.type
        if kind == "call_expression":
            self.calls.append((node, scope))
            self._record_require(node)
        elif kind == "import_statement":
            self._record_import(node)
        elif kind == "variable_declarator":
            name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name is not None and name.type == "identifier":
                declared = scope.bindings[text(name)]  # `let client;` declares it here
                if value is not None:
                    declared.append(value)
        elif kind == "assignment_expression":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is None or right is None:
                return
            if left.type == "identifier":
                _owner_of(scope, text(left)).bindings[text(left)].append(right)
            elif _is_this_member(left) and scope.class_name:
                prop = text(left.child_by_field_name("property"))
                self.members[(scope.class_name, prop)].append((right, scope))
        elif kind in FIELD_TYPES and class_name:
            prop = node.child_by_field_name("property") or node.child_by_field_name("name")
            value, annotation = node.child_by_field_name("value"), node.child_by_field_name("type")
            if value is not None:
                self.members[(class_name, text(prop))].append((value, scope))
            if annotation is not None and annotation.named_children:
                self.member_annotations[(class_name, text(prop))] = (
                    annotation.named_children[0], scope)
        elif kind == "return_statement" and node.named_children:
            scope.returns.append(node.named_children[0])

    def _record_import(self, node: Node) -> None:
        source = node.child_by_field_name("source")
        module = string_value(source) if source is not None else ""
        root, default = MODULES.get(module, (module, module))
        self._note_sdk(root)
        for clause in node.named_children:
            if clause.type != "import_clause":
                continue
            for part in clause.named_children:
                if part.type == "identifier":
                    self.imports[text(part)] = default or root
                elif part.type == "namespace_import" and part.named_children:
                    self.imports[text(part.named_children[0])] = root
                elif part.type == "named_imports":
                    for spec in part.named_children:
                        name = text(spec.child_by_field_name("name"))
                        alias = spec.child_by_field_name("alias")
                        self.imports[text(alias) if alias else name] = _named(root, default, name)

    def _record_require(self, call: Node) -> None:
        function, arguments = call.child_by_field_name("function"), call.child_by_field_name(
            "arguments")
        if text(function) != "require" or arguments is None or not arguments.named_children:
            return
        first = arguments.named_children[0]
        declarator = call.parent
        if first.type != "string" or declarator is None or declarator.type != "variable_declarator":
            return
        module = string_value(first)
        root, default = MODULES.get(module, (module, module))
        self._note_sdk(root)
        target = declarator.child_by_field_name("name")
        if target is not None and target.type == "identifier":
            self.imports[text(target)] = default or root
        elif target is not None and target.type == "object_pattern":
            for part in target.named_children:
                if part.type == "shorthand_property_identifier_pattern":
                    self.imports[text(part)] = _named(root, default, text(part))
                elif part.type == "pair_pattern":
                    key, value = part.child_by_field_name("key"), part.child_by_field_name("value")
                    self.imports[text(value)] = _named(root, default, text(key))

    def _note_sdk(self, root: str) -> None:
        sdk = sdk_of_module(root)
        if sdk:
            self.imported_sdks.add(sdk)


def _named(root: str, default: str | None, name: str) -> str:
    if name == "fetch" and root in ("undici", "fetch"):
        return "fetch"
    if name == "default":
        return default or root
    return f"{root}.{name}"


def _in_class_body(node: Node) -> bool:
    return node.parent is not None and node.parent.type == "class_body"


def _parameters(node: Node) -> list[Node]:
    params = node.child_by_field_name("parameters")
    if params is None:
        return []
    return [p for p in params.named_children if p.type in PARAMETER_TYPES]


def _is_this_member(node: Node) -> bool:
    return node.type == "member_expression" and text(node.child_by_field_name("object")) == "this"


def _owner_of(scope: JsScope, name: str) -> JsScope:
    current: JsScope | None = scope
    while current is not None:
        if name in current.bindings:
            return current
        current = current.parent
    return scope
