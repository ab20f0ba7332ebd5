"""Finds LLM calls in JavaScript and TypeScript: SDK calls (`@anthropic-ai/sdk`, `openai`,
Google GenAI, `ollama`) and `fetch`/axios POSTs to provider endpoints.

Resolution mirrors the Python scanner: imports and `require`, `const`/`let` bindings,
`this.x = ...` and class fields, TypeScript annotations, and what a function in the
same file returns.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from llmcontrol.audit import patterns
from llmcontrol.audit.js_index import JsIndex, JsScope, Node, parser_for, string_value, text
from llmcontrol.audit.models import Hint, ParseFailure, RawSite, Ref

MAX_DEPTH = 12
WRAPPERS = frozenset({
    "await_expression", "parenthesized_expression", "as_expression", "non_null_expression",
    "satisfies_expression", "type_assertion", "generic_type",
})


def scan_js(source: bytes, relative_path: str, dialect: str) -> list[RawSite]:
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseFailure(f"not UTF-8 text (byte {exc.start})") from exc
    root = parser_for(dialect).parse(source).root_node
    if root.has_error:
        raise ParseFailure(f"syntax error (line {_first_error_line(root)})")
    return _JsScanner(root, relative_path).run()


def _first_error_line(root: Node) -> int:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            return node.start_point.row + 1
        stack.extend(reversed([c for c in node.children if c.has_error or c.is_missing]))
    return root.start_point.row + 1


class _JsScanner:
    def __init__(self, root: Node, relative_path: str) -> None:
        self.index = JsIndex(root)
        self.file_stem = PurePosixPath(relative_path).name.split(".")[0]

    def run(self) -> list[RawSite]:
        sites = [site for call, scope in self.index.calls
                 if (site := self._site_for(call, scope)) is not None]
        return sorted(sites, key=lambda s: s.line)

    # -- resolution --------------------------------------------------------------------

    def resolve(self, node: Node | None, scope: JsScope, depth: int = 0) -> Ref | None:
        if node is None or depth > MAX_DEPTH:
            return None
        kind = node.type
        if kind in ("identifier", "type_identifier"):
            return self._resolve_name(text(node), scope, depth)
        if kind in ("member_expression", "nested_type_identifier"):
            obj = node.named_children[0]
            prop = text(node.child_by_field_name("property") or node.named_children[-1])
            if obj.type == "this":
                return self._resolve_member(scope.class_name, prop, depth)
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
        returns = []
        if function is not None and function.type == "identifier":
            returns = self.index.function_returns(None, text(function))
        elif function is not None and function.type == "member_expression" and text(
                function.child_by_field_name("object")) == "this":
            returns = self.index.function_returns(
                scope.class_name, text(function.child_by_field_name("property")))
        for returned, value_scope in returns:
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
            for value, value_scope in scope.lookup(text(node)):
                found = self.literal(value, value_scope, depth + 1)
                if found is not None:
                    return found
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

    def strings(self, node: Node | None, scope: JsScope, depth: int = 0) -> list[str]:
        if node is None or depth > 3:
            return []
        out: list[str] = []
        stack = [node]
        while stack:
            current = stack.pop()
            if current.type in ("string", "template_string"):
                out.append(string_value(current))
            elif current.type in ("identifier", "shorthand_property_identifier"):
                for value, value_scope in scope.lookup(text(current)):
                    out.extend(self.strings(value, value_scope, depth + 1))
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

    # -- sites -------------------------------------------------------------------------

    def _site_for(self, call: Node, scope: JsScope) -> RawSite | None:
        function = call.child_by_field_name("function")
        ref = self.resolve(function, scope)
        if ref is not None:
            sdk_call = patterns.match_sdk(ref.path)
            if sdk_call is not None:
                return self._sdk_site(call, scope, ref, sdk_call)
            method = patterns.http_method(ref.path)
            return self._http_site(call, scope, ref, method) if method else None
        chain = "".join(text(function).split())
        sdk_call = patterns.match_unresolved(chain, self.index.imported_sdks)
        return self._sdk_site(call, scope, Ref(chain), sdk_call) if sdk_call else None

    def _sdk_site(self, call: Node, scope: JsScope, ref: Ref,
                  sdk_call: patterns.SdkCall) -> RawSite:
        options = self.object_of(_argument(call, 0), scope)
        model = self.literal(object_get(options, "model"), scope) if options else None
        ctor = ref.ctor if isinstance(ref.ctor, Node) else None
        if model is None and ctor is not None:
            ctor_options = self.object_of(_argument(ctor, 0), scope)
            model = self.literal(object_get(ctor_options, "model"), scope) if ctor_options else None
        streaming = sdk_call.streaming or (options is not None and text(
            object_get(options, "stream")) == "true")
        return self._raw(call, scope, sdk=sdk_call.sdk, call_name=ref.path, model=model,
                         streaming=streaming, migrated=False)

    def _http_site(self, call: Node, scope: JsScope, ref: Ref, method: str) -> RawSite | None:
        first, second = _argument(call, 0), _argument(call, 1)
        config = self.object_of(first, scope)
        if method == "request" and config is not None:  # axios({url, method, data})
            url, options, body = object_get(config, "url"), config, object_get(config, "data")
        elif method == "fetch":
            url, options = first, self.object_of(second, scope)
            if options is None:
                return None  # no init object: a GET
            body = object_get(options, "body")
        else:
            url, options, body = first, self.object_of(_argument(call, 2), scope), second
        verb = self.literal(object_get(options, "method"), scope) if options else None
        if verb is not None and verb.upper() != "POST":
            return None
        rendered = self.render(url, scope)
        path = patterns.provider_path(rendered)
        if path is None and "{}" in rendered:
            found = self._provider_path_in(call, scope) or self._provider_path_in(
                scope.node and scope.node.child_by_field_name("body"), scope)
            if found:
                path, rendered = found
        if path is None:
            return None
        payload = self.object_of(body, scope)
        model = self.literal(object_get(payload, "model"), scope) if payload else None
        streaming = (path == ":streamGenerateContent" or "alt=sse" in rendered
                     or (payload is not None and text(object_get(payload, "stream")) == "true"))
        return self._raw(call, scope, sdk="http", call_name=f"{ref.path} {path}",
                         model=model or patterns.gemini_model(rendered), streaming=streaming,
                         migrated=False)

    def _provider_path_in(self, node: Node | None, scope: JsScope) -> tuple[str, str] | None:
        """(provider path, the literal it was found in) inside a call or a function body."""
        for value in self.strings(node, scope):
            path = patterns.provider_path(value)
            if path:
                return path, value
        return None

    def _raw(self, call: Node, scope: JsScope, *, sdk: str, call_name: str, model: str | None,
             streaming: bool, migrated: bool) -> RawSite:
        hints = [Hint(source, name) for source, name in scope.names()]
        target = _assigned_name(call)
        if target:
            hints.append(Hint("variable name", target))
        hints.append(Hint("file name", self.file_stem))
        prompt = patterns.prompt_text(self.strings(call.child_by_field_name("arguments"), scope))
        if prompt.strip():
            hints.append(Hint("prompt text", prompt))
        node = scope.node or _statement_of(call)
        lines = node.end_point.row - node.start_point.row + 1
        return RawSite(line=call.start_point.row + 1, sdk=sdk, call=call_name, model=model,
                       streaming=streaming, migrated=migrated,
                       function=scope.qualname or None, function_lines=lines, hints=hints)


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


def _argument(call: Node, position: int) -> Node | None:
    arguments = call.child_by_field_name("arguments")
    if arguments is None:
        return None
    values = [c for c in arguments.named_children if c.type != "comment"]
    return values[position] if len(values) > position else None


def _assigned_name(call: Node) -> str | None:
    node, parent = call, call.parent
    while parent is not None and parent.type in WRAPPERS:
        node, parent = parent, parent.parent
    if parent is None:
        return None
    if parent.type == "variable_declarator":
        name = parent.child_by_field_name("name")
        return text(name) if name is not None and name.type == "identifier" else None
    if parent.type == "assignment_expression" and parent.child_by_field_name("right") == node:
        return text(parent.child_by_field_name("left")).rpartition(".")[2]
    return None


def _statement_of(node: Node) -> Node:
    while node.parent is not None and node.parent.type != "program":
        node = node.parent
    return node
