"""Finds LLM calls in Python source with `ast`: SDK calls, raw HTTP to provider endpoints,
and calls through the llmcontrol client (the migrated ones).

Indirection it follows: import aliases, module-level and local assignments, `global`
assignments in a getter, `self.x = ...` in any method, class attributes, `with ... as x`,
parameter annotations, and the return value of a function or property defined in the
same module (a client made in one function and used in another).
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import PurePosixPath

from llmcontrol.audit import patterns
from llmcontrol.audit.models import Hint, ParseFailure, RawSite, Ref
from llmcontrol.audit.python_index import ModuleIndex, Scope

MAX_DEPTH = 12


def scan_python(source: bytes, relative_path: str) -> list[RawSite]:
    try:
        # Decode first: the parser lets undecodable bytes through inside comments.
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = source.decode(encoding)
    except (SyntaxError, LookupError) as exc:
        raise ParseFailure(f"bad encoding declaration: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ParseFailure(f"not {exc.encoding} text (byte {exc.start})") from exc
    try:
        tree = ast.parse(text, filename=relative_path)
    except (SyntaxError, ValueError) as exc:
        raise ParseFailure(_describe_parse_error(exc)) from exc
    return _Scanner(tree, relative_path).run()


def _describe_parse_error(exc: Exception) -> str:
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    return f"{type(exc).__name__}: {exc}"


class _Scanner:
    def __init__(self, tree: ast.Module, relative_path: str) -> None:
        self.index = ModuleIndex(tree)
        self.file_stem = PurePosixPath(relative_path).stem
        self.sites: list[RawSite] = []

    def run(self) -> list[RawSite]:
        found: dict[int, RawSite] = {}
        for call, scope in self.index.calls():
            site = self._site_for(call, scope)
            if site is not None:
                found[id(call)] = site
        found.update(self._http_helper_callers(found))
        return sorted(found.values(), key=lambda s: s.line)

    # -- resolution ------------------------------------------------------------------

    def resolve(self, expr: ast.expr, scope: Scope, depth: int = 0) -> Ref | None:
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.Name):
            return self._resolve_name(expr.id, scope, depth)
        if isinstance(expr, ast.Attribute):
            if isinstance(expr.value, ast.Name) and expr.value.id in ("self", "cls"):
                ref = self._resolve_member(scope.class_name, expr.attr, depth)
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
        returns = []
        if isinstance(func, ast.Name) and not scope.binds(func.id):
            returns = self.index.function_returns(None, func.id)
        elif (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
              and func.value.id in ("self", "cls")):
            returns = self.index.function_returns(scope.class_name, func.attr)
        for returned, value_scope in returns:
            ref = self.resolve(returned, value_scope, depth + 1)
            if ref is not None:
                return ref
        return None

    def strings(self, expr: ast.AST, scope: Scope, depth: int = 0) -> list[str]:
        """Every string literal inside `expr`, following names to what they were bound to."""
        if depth > 3:
            return []
        out: list[str] = []
        for node in ast.walk(expr):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.append(node.value)
            elif isinstance(node, ast.Name):
                for value, value_scope in scope.lookup(node.id):
                    out.extend(self.strings(value, value_scope, depth + 1))
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
            for value, value_scope in scope.lookup(expr.id):
                found = self.literal(value, value_scope, depth + 1)
                if found is not None:
                    return found
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

    # -- sites ------------------------------------------------------------------------

    def _site_for(self, call: ast.Call, scope: Scope) -> RawSite | None:
        ref = self.resolve(call.func, scope)
        if ref is not None:
            sdk_call = patterns.match_sdk(ref.path)
            if sdk_call is not None:
                return self._sdk_site(call, scope, ref, sdk_call)
            method = patterns.http_method(ref.path)
            if method is not None:
                return self._http_site(call, scope, ref, method)
            return None
        chain = _dotted(call.func)
        if chain:
            sdk_call = patterns.match_unresolved(chain, self.index.imported_sdks)
            if sdk_call is not None:
                return self._sdk_site(call, scope, Ref(chain), sdk_call)
        return None

    def _sdk_site(self, call: ast.Call, scope: Scope, ref: Ref,
                  sdk_call: patterns.SdkCall) -> RawSite:
        ctor = ref.ctor if isinstance(ref.ctor, ast.Call) else None
        model = self.literal(_keyword(call, "model"), scope)
        if model is None and ctor is not None:
            model = self.literal(_keyword(ctor, "model") or _keyword(ctor, "model_name"), scope)
            if model is None and sdk_call.sdk == "google-genai" and ctor.args:
                model = self.literal(ctor.args[0], scope)
        streaming = sdk_call.streaming or _is_true(_keyword(call, "stream"))
        hints = self._hints(call, scope)
        if ctor is not None:
            hints += self._ctor_hints(ctor, scope)
        return self._raw(call, scope, sdk=sdk_call.sdk, call_name=ref.path, model=model,
                         streaming=streaming, migrated=sdk_call.sdk == "llmcontrol", hints=hints)

    def _http_site(self, call: ast.Call, scope: Scope, ref: Ref, method: str) -> RawSite | None:
        if method in ("request", "stream") and call.args:
            verb = self.literal(call.args[0], scope)
            if verb is not None and verb.upper() != "POST":
                return None
        url = _url_argument(call, method)
        rendered = self.render(url, scope) if url is not None else "{}"
        path = patterns.provider_path(rendered)
        if path is None and "{}" in rendered:
            # The URL is built elsewhere: `self._url("/api/chat")`, or a helper's
            # argument a few lines up in the same function.
            found = self._provider_path_in(call, scope) or self._provider_path_in(
                scope.node, scope)
            if found:
                path, rendered = found
        if path is None:
            return None
        return self._http_raw(call, scope, ref.path, path, rendered, method)

    def _http_raw(self, call: ast.Call, scope: Scope, callee: str, path: str, url: str,
                  method: str, body: ast.expr | None = None) -> RawSite:
        body = body or _keyword(call, "json") or _keyword(call, "data") or _keyword(
            call, "content")
        body_dict = self._dict_of(body, scope)
        model = self.literal(_dict_get(body_dict, "model"), scope) if body_dict else None
        model = model or patterns.gemini_model(url)
        streaming = (method == "stream" or path == ":streamGenerateContent" or "alt=sse" in url
                     or (body_dict is not None and _is_true(_dict_get(body_dict, "stream"))))
        return self._raw(call, scope, sdk="http", call_name=f"{callee} {path}", model=model,
                         streaming=streaming, migrated=False, hints=self._hints(call, scope))

    def _provider_path_in(self, node: ast.AST | None, scope: Scope) -> tuple[str, str] | None:
        """(provider path, the literal it was found in) inside a call or a function body."""
        if node is None:
            return None
        body = node.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else [node]
        for statement in body:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                continue  # a docstring is not a URL
            for text in self.strings(statement, scope):
                path = patterns.provider_path(text)
                if path:
                    return path, text
        return None

    def _http_helper_callers(self, found: dict[int, RawSite]) -> dict[int, RawSite]:
        """`def _post(self, path): self.http.post(self._url(path))` called as `_post("/api/chat")`.

        The POST has no provider path of its own; each caller that passes one is a site.
        """
        helpers: dict[str, tuple[ast.Call, Scope, Ref, str]] = {}
        for call, scope in self.index.calls():
            if id(call) in found or scope.node is None:
                continue
            ref = self.resolve(call.func, scope)
            method = patterns.http_method(ref.path) if ref else None
            url = _url_argument(call, method) if method else None
            if ref and method and url is not None and isinstance(url, ast.Name | ast.Call
                                                                  | ast.JoinedStr | ast.BinOp):
                helpers[scope.node.name] = (call, scope, ref, method)
        extra: dict[int, RawSite] = {}
        for call, scope in self.index.calls():
            name = _called_name(call.func)
            if name not in helpers or id(call) in found:
                continue
            found = self._provider_path_in(call, scope)
            if found:
                post, post_scope, ref, method = helpers[name]
                payload = next((a for a in [*call.args, *(k.value for k in call.keywords)]
                                if self._dict_of(a, scope) is not None), None)
                site = self._http_raw(post, scope, ref.path, found[0], found[1], method,
                                      body=payload)
                site.line = call.lineno
                site.hints = self._hints(call, scope)
                site.function, site.function_lines = _function_of(scope, call)
                extra[id(call)] = site
        return extra

    def _dict_of(self, expr: ast.expr | None, scope: Scope) -> ast.Dict | None:
        if isinstance(expr, ast.Dict):
            return expr
        if isinstance(expr, ast.Name):
            for value, value_scope in scope.lookup(expr.id):
                found = self._dict_of(value, value_scope)
                if found is not None:
                    return found
        return None

    # -- hints and bookkeeping -------------------------------------------------------

    def _hints(self, call: ast.Call, scope: Scope) -> list[Hint]:
        hints = [Hint(source, text) for source, text in scope.names()]
        target = self.index.assigned_name(call)
        if target:
            hints.append(Hint("variable name", target))
        hints.append(Hint("file name", self.file_stem))
        prompt = patterns.prompt_text(self.strings(call, scope))
        if prompt.strip():
            hints.append(Hint("prompt text", prompt))
        return hints

    def _ctor_hints(self, ctor: ast.Call, scope: Scope) -> list[Hint]:
        hints = []
        factory = _dotted(ctor.func)
        if factory:
            hints.append(Hint("client factory", factory.rpartition(".")[2]))
        for key in ("purpose", "sub_agent", "phase"):
            value = self.literal(_keyword(ctor, key), scope)
            if value:
                hints.append(Hint(key.replace("_", "-"), value))
        return hints

    def _raw(self, call: ast.Call, scope: Scope, *, sdk: str, call_name: str,
             model: str | None, streaming: bool, migrated: bool, hints: list[Hint]) -> RawSite:
        function, lines = _function_of(scope, call)
        return RawSite(line=call.lineno, sdk=sdk, call=call_name, model=model,
                       streaming=streaming, migrated=migrated, function=function,
                       function_lines=lines, hints=hints)


def _function_of(scope: Scope, call: ast.Call) -> tuple[str | None, int]:
    node = scope.node
    if node is None:
        return None, (call.end_lineno or call.lineno) - call.lineno + 1
    return scope.qualname, (node.end_lineno or node.lineno) - node.lineno + 1


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _is_true(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is True


def _dict_get(node: ast.Dict, key: str) -> ast.expr | None:
    for k, v in zip(node.keys, node.values, strict=True):
        if isinstance(k, ast.Constant) and k.value == key:
            return v
    return None


def _url_argument(call: ast.Call, method: str) -> ast.expr | None:
    url = _keyword(call, "url")
    if url is not None:
        return url
    position = 1 if method in ("request", "stream") else 0
    return call.args[position] if len(call.args) > position else None


def _dotted(expr: ast.expr) -> str | None:
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
    elif isinstance(expr, ast.Call):
        inner = _dotted(expr.func)
        parts.append(f"{inner}()" if inner else "()")
    else:
        return None
    return ".".join(reversed(parts))


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in (
            "self", "cls"):
        return func.attr
    return None
