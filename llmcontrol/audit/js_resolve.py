"""Static evaluation of JavaScript/TypeScript expressions (tree-sitter nodes) for the
scanner: what a name, member or call refers to (`Ref`), which string a name holds,
what a URL renders to, and which object literal an argument is.
"""

from __future__ import annotations

from collections.abc import Callable

from llmcontrol.audit.js_index import JsIndex, JsScope, Node, string_value, text
from llmcontrol.audit.models import Ref

MAX_DEPTH = 12
# Nodes that only wrap the expression that matters.
WRAPPERS = frozenset({
    "await_expression", "parenthesized_expression", "as_expression", "non_null_expression",
    "satisfies_expression", "type_assertion", "generic_type",
})


class JsResolver:
    def __init__(self, root: Node) -> None:
        self.index = JsIndex(root)
        # Answers per (question, scope, name); None while being worked out, which cuts
        # cycles like `text = text.trim()` (the search is exponential without it).
        self._refs: dict[tuple[object, ...], Ref | None] = {}
        self._literals: dict[tuple[int, str], str | None] = {}

    def _remember(self, key: tuple[object, ...], compute: Callable[[], Ref | None]) -> Ref | None:
        if key in self._refs:
            return self._refs[key]
        self._refs[key] = None
        self._refs[key] = found = compute()
        return found

    def resolve(self, node: Node | None, scope: JsScope, depth: int = 0) -> Ref | None:
        if node is None or depth > MAX_DEPTH:
            return None
        kind = node.type
        if kind in ("identifier", "type_identifier"):
            name = text(node)
            return self._remember(("name", id(scope), name),
                                  lambda: self._resolve_name(name, scope, depth))
        if kind in ("member_expression", "nested_type_identifier"):
            obj = node.named_children[0]
            prop = text(node.child_by_field_name("property") or node.named_children[-1])
            if obj.type == "this":
                return self._remember(("member", scope.class_name, prop),
                                      lambda: self._resolve_member(scope.class_name, prop, depth))
            base = self.resolve(obj, scope, depth + 1)
            return Ref(f"{base.path}.{prop}", base.ctor) if base else None
        if kind == "call_expression":
            function = node.child_by_field_name("function")
            returned = self._resolve_local_function_call(function, scope, depth)
            if returned is not None:
                return returned
            base = self.resolve(function, scope, depth + 1)
            return Ref(f"{base.path}()", node) if base else None
        if kind == "new_expression":
            base = self.resolve(node.child_by_field_name("constructor"), scope, depth + 1)
            return Ref(f"{base.path}()", node) if base else None
        if kind in WRAPPERS and node.named_children:
            return self.resolve(node.named_children[0], scope, depth + 1)
        if kind in ("ternary_expression", "binary_expression"):
            first = node.child_by_field_name("consequence") or node.child_by_field_name("left")
            second = node.child_by_field_name("alternative") or node.child_by_field_name("right")
            return self.resolve(first, scope, depth + 1) or self.resolve(second, scope, depth + 1)
        return None

    def _resolve_name(self, name: str, scope: JsScope, depth: int) -> Ref | None:
        for value, value_scope in scope.lookup(name):
            ref = self.resolve(value, value_scope, depth + 1)
            if ref is not None:
                return ref
        annotation = scope.annotation(name)
        if annotation is not None:
            return self._instance_of(annotation[0], annotation[1], depth)
        if name in self.index.imports:
            return Ref(self.index.imports[name])
        return Ref("fetch") if name == "fetch" and not scope.lookup(name) else None

    def _resolve_member(self, class_name: str | None, prop: str, depth: int) -> Ref | None:
        if class_name is None:
            return None
        bindings = self.index.members.get((class_name, prop), []) + self.index.getter_returns(
            class_name, prop)
        for value, value_scope in bindings:
            ref = self.resolve(value, value_scope, depth + 1)
            if ref is not None:
                return ref
        annotation = self.index.member_annotations.get((class_name, prop))
        return self._instance_of(*annotation, depth) if annotation else None

    def _instance_of(self, type_node: Node, scope: JsScope, depth: int) -> Ref | None:
        ref = self.resolve(type_node, scope, depth + 1)
        return Ref(f"{ref.path}()") if ref else None

    def _resolve_local_function_call(self, function: Node | None, scope: JsScope,
                                     depth: int) -> Ref | None:
        if function is not None and function.type == "identifier":
            owner, name = None, text(function)
        elif function is not None and function.type == "member_expression" and text(
                function.child_by_field_name("object")) == "this":
            owner, name = scope.class_name, text(function.child_by_field_name("property"))
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

    def literal(self, node: Node | None, scope: JsScope, depth: int = 0) -> str | None:
        if node is None or depth > 4:
            return None
        kind = node.type
        if kind == "string" or (kind == "template_string" and not any(
                c.type == "template_substitution" for c in node.named_children)):
            return string_value(node)
        if kind in ("identifier", "shorthand_property_identifier"):
            key = (id(scope), text(node))
            if key not in self._literals:
                self._literals[key] = None  # a cycle answers None
                self._literals[key] = next(
                    (found for value, value_scope in scope.lookup(text(node))
                     if (found := self.literal(value, value_scope, depth + 1)) is not None),
                    None)
            return self._literals[key]
        if kind == "member_expression":
            obj, prop = node.child_by_field_name("object"), text(node.child_by_field_name(
                "property"))
            if obj is not None and obj.type == "this" and scope.class_name:
                for value, value_scope in self.index.members.get((scope.class_name, prop), []):
                    found = self.literal(value, value_scope, depth + 1)
                    if found is not None:
                        return found
            container = self.object_of(obj, scope)
            if container is not None:
                return self.literal(object_get(container, prop), scope, depth + 1)
        if kind in WRAPPERS and node.named_children:
            return self.literal(node.named_children[0], scope, depth + 1)
        return None

    def render(self, node: Node | None, scope: JsScope, depth: int = 0) -> str:
        """A URL expression as text, with `{}` where a part is not known."""
        if node is None:
            return "{}"
        known = self.literal(node, scope)
        if known is not None or depth > 4:
            return known if known is not None else "{}"
        if node.type == "template_string":
            parts = []
            for child in node.named_children:
                if child.type == "template_substitution" and child.named_children:
                    parts.append(self.render(child.named_children[0], scope, depth + 1))
                elif child.type == "escape_sequence":
                    parts.append(text(child)[1:])
                elif child.type == "string_fragment":
                    parts.append(text(child))
            return "".join(parts)
        if node.type == "binary_expression" and text(node.child_by_field_name("operator")) == "+":
            return self.render(node.child_by_field_name("left"), scope, depth + 1) + self.render(
                node.child_by_field_name("right"), scope, depth + 1)
        if node.type == "identifier":
            for value, value_scope in scope.lookup(text(node)):
                return self.render(value, value_scope, depth + 1)
        return "{}"

    def strings(self, node: Node | None, scope: JsScope, depth: int = 0,
                seen: set[tuple[int, str]] | None = None) -> list[str]:
        """Every string inside `node`, following names to what they were bound to."""
        if node is None or depth > 3:
            return []
        seen = set() if seen is None else seen
        out: list[str] = []
        stack = [node]
        while stack:
            current = stack.pop()
            if current.type in ("string", "template_string"):
                out.append(string_value(current))
            elif current.type in ("identifier", "shorthand_property_identifier") and (
                    id(scope), text(current)) not in seen:
                seen.add((id(scope), text(current)))  # each name once
                for value, value_scope in scope.lookup(text(current)):
                    out.extend(self.strings(value, value_scope, depth + 1, seen))
            if current.type != "string":
                stack.extend(c for c in current.named_children if c.type != "comment")
        return out

    def object_of(self, node: Node | None, scope: JsScope, depth: int = 0) -> Node | None:
        if node is None or depth > 4:
            return None
        if node.type == "object":
            return node
        if node.type in ("identifier", "shorthand_property_identifier"):
            for value, value_scope in scope.lookup(text(node)):
                found = self.object_of(value, value_scope, depth + 1)
                if found is not None:
                    return found
        if node.type == "call_expression" and text(node.child_by_field_name("function")) in (
                "JSON.stringify",):
            arguments = node.child_by_field_name("arguments")
            if arguments is not None and arguments.named_children:
                return self.object_of(arguments.named_children[0], scope, depth + 1)
        if node.type in WRAPPERS and node.named_children:
            return self.object_of(node.named_children[0], scope, depth + 1)
        return None


def object_get(node: Node | None, key: str) -> Node | None:
    if node is None:
        return None
    for child in node.named_children:
        if child.type == "pair":
            name = child.child_by_field_name("key")
            if name is not None and (text(name) == key or (
                    name.type == "string" and string_value(name) == key)):
                return child.child_by_field_name("value")
        elif child.type == "shorthand_property_identifier" and text(child) == key:
            return child
    return None
