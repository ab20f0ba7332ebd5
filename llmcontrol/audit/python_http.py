"""Raw HTTP calls to provider endpoints (httpx, requests, aiohttp, urllib).

A POST counts when a provider path (`/api/chat`, `/v1/messages`, `:generateContent`, ...)
is in its URL, in its arguments (`self._url("/api/chat")`), or in a literal of the
same function. Two indirections are followed further:
- a helper that posts a path it receives (`self._post("/api/chat", body)`): each caller
  that passes a provider path is a site;
- a POST whose URL comes from a hook method (`path, params, body = self._chat_call(...)`):
  each override of the hook that returns a provider path is a site (joined across files
  by `scan`).
A GET is never a site, whatever its URL (health checks, model listings).
"""

from __future__ import annotations

import ast

from llmcontrol.audit import patterns
from llmcontrol.audit.models import RawSite, Ref, RequestBuilder, RequestHook
from llmcontrol.audit.python_index import Scope
from llmcontrol.audit.python_resolve import Resolver, dict_get, function_of, is_true, keyword


class HttpSites(Resolver):
    hooks: list[RequestHook]

    def http_site(self, call: ast.Call, scope: Scope, ref: Ref, method: str) -> RawSite | None:
        if method in ("request", "stream") and call.args:
            verb = self.literal(call.args[0], scope)
            if verb is not None and verb.upper() != "POST":
                return None
        url = url_argument(call, method)
        rendered = self.render(url, scope) if url is not None else "{}"
        path = patterns.provider_path(rendered)
        if path is None and "{}" in rendered:
            # The URL is built elsewhere: `self._url("/api/chat")`, or a helper's
            # argument a few lines up in the same function.
            found = self.provider_path_in(call, scope) or self.provider_path_in(scope.node, scope)
            if found:
                path, rendered = found
        if path is None:
            hook = self._hook_method(url, scope)
            if hook and scope.class_name:
                self.hooks.append(RequestHook(scope.class_name, hook, ref.path))
            return None
        return self.http_raw(call, scope, ref.path, path, rendered, method)

    def http_raw(self, call: ast.Call, scope: Scope, callee: str, path: str, url: str,
                 method: str, body: ast.expr | None = None) -> RawSite:
        body = body or keyword(call, "json") or keyword(call, "data") or keyword(call, "content")
        body_dict = self.dict_of(body, scope)
        model = self.literal(dict_get(body_dict, "model"), scope) if body_dict else None
        streaming = (method == "stream" or path == ":streamGenerateContent" or "alt=sse" in url
                     or (body_dict is not None and is_true(dict_get(body_dict, "stream"))))
        return self.raw(call, scope, sdk="http", call_name=f"{callee} {path}",
                        model=model or patterns.gemini_model(url), streaming=streaming,
                        migrated=False, hints=self.hints(call, scope))

    def provider_path_in(self, node: ast.AST | None, scope: Scope) -> tuple[str, str] | None:
        """(provider path, the literal it was found in) inside a node or a function body."""
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

    def helper_callers(self, found: dict[int, RawSite]) -> dict[int, RawSite]:
        """`def _post(self, path, body): self.http.post(self._url(path), json=body)` called
        as `self._post("/api/chat", body)`: each such caller is a site."""
        helpers: dict[str, tuple[ast.Call, Ref, str]] = {}
        for call, scope in self.index.calls():
            if id(call) in found or scope.node is None:
                continue
            ref = self.resolve(call.func, scope)
            method = patterns.http_method(ref.path) if ref else None
            url = url_argument(call, method) if method else None
            if ref and method and isinstance(url, ast.Name | ast.Call | ast.JoinedStr | ast.BinOp):
                helpers[scope.node.name] = (call, ref, method)
        extra: dict[int, RawSite] = {}
        for call, scope in self.index.calls():
            name = called_name(call.func)
            found_path = self.provider_path_in(call, scope) if name in helpers else None
            if found_path is None or id(call) in found:
                continue
            post, ref, method = helpers[name]  # type: ignore[index]
            payload = next((a for a in [*call.args, *(k.value for k in call.keywords)]
                            if self.dict_of(a, scope) is not None), None)
            site = self.http_raw(post, scope, ref.path, *found_path, method, body=payload)
            site.line = call.lineno
            site.hints = self.hints(call, scope)
            site.function, site.function_lines = function_of(scope, call)
            extra[id(call)] = site
        return extra

    def request_builders(self) -> list[RequestBuilder]:
        """Methods that return a provider endpoint (`return "/api/chat", {}, body`)."""
        builders = []
        for class_name, method, scope in self.index.methods():
            for returned in scope.returns:
                found = self._rendered_path(returned, scope) or self.provider_path_in(
                    returned, scope)
                if found is None:
                    continue
                path, text = found
                payload = next((e for e in _elements(returned)
                                if self.dict_of(e, scope) is not None), None)
                body_dict = self.dict_of(payload, scope)
                strings = self.strings(returned, scope)
                streaming = (path == ":streamGenerateContent" or "sse" in strings or (
                    body_dict is not None and is_true(dict_get(body_dict, "stream"))))
                model = self.literal(dict_get(body_dict, "model"), scope) if body_dict else None
                site = self.raw(returned, scope, sdk="http", call_name=path,
                                model=model or patterns.gemini_model(text), streaming=streaming,
                                migrated=False, hints=self.hints(returned, scope))
                builders.append(RequestBuilder(class_name, method, path, site))
        return builders

    def _rendered_path(self, returned: ast.expr, scope: Scope) -> tuple[str, str] | None:
        for element in _elements(returned):
            rendered = self.render(element, scope)
            path = patterns.provider_path(rendered)
            if path:
                return path, rendered
        return None

    def _hook_method(self, url: ast.expr | None, scope: Scope) -> str | None:
        candidates = [url] + ([v for v, _ in scope.lookup(url.id)]
                              if isinstance(url, ast.Name) else [])
        for candidate in candidates:
            if isinstance(candidate, ast.Call):
                name = called_name(candidate.func)
                if name and isinstance(candidate.func, ast.Attribute):
                    return name
        return None


def _elements(expr: ast.expr) -> list[ast.expr]:
    return list(expr.elts) if isinstance(expr, ast.Tuple) else [expr]


def url_argument(call: ast.Call, method: str) -> ast.expr | None:
    url = keyword(call, "url")
    if url is not None:
        return url
    position = 1 if method in ("request", "stream") else 0
    return call.args[position] if len(call.args) > position else None


def called_name(func: ast.expr) -> str | None:
    """`helper` for `helper(...)`, `self.helper(...)` or `cls.helper(...)`."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in (
            "self", "cls"):
        return func.attr
    return None
