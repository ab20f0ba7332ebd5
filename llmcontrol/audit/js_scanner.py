"""Finds LLM calls in JavaScript and TypeScript: SDK calls (`@anthropic-ai/sdk`, `openai`,
Google GenAI, `ollama`) and `fetch`/axios POSTs to provider endpoints.

Resolution (`js_resolve`) mirrors the Python scanner: imports and `require`,
`const`/`let` bindings, `this.x = ...` and class fields, TypeScript annotations, and
what a function in the same file returns.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from llmcontrol.audit import patterns
from llmcontrol.audit.js_index import JsScope, Node, parser_for, text
from llmcontrol.audit.js_resolve import WRAPPERS, JsResolver, object_get
from llmcontrol.audit.models import Hint, ParseFailure, RawSite, Ref


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


class _JsScanner(JsResolver):
    def __init__(self, root: Node, relative_path: str) -> None:
        super().__init__(root)
        self.file_stem = PurePosixPath(relative_path).name.split(".")[0]

    def run(self) -> list[RawSite]:
        sites = [site for call, scope in self.index.calls
                 if (site := self._site_for(call, scope)) is not None]
        return sorted(sites, key=lambda s: s.line)

    # -- sites -------------------------------------------------------------------------

    def _site_for(self, call: Node, scope: JsScope) -> RawSite | None:
        function = call.child_by_field_name("function")
        ref = self.resolve(function, scope)
        if ref is not None:
            sdk_call = patterns.match_sdk(ref.path)
            if sdk_call is not None:
                return self._sdk_site(call, scope, ref, sdk_call)
            method = patterns.http_method(ref.path)
            if method is not None:
                return self._http_site(call, scope, ref, method)
        # A receiver that could not be followed to an SDK (a pool of clients, a parameter).
        chain = ref.path if ref is not None else "".join(text(function).split())
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
