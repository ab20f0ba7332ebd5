"""Finds LLM calls in Python source with `ast`: SDK calls, raw HTTP to provider endpoints
(`python_http`), and calls through the llmcontrol client (the migrated ones).

Indirection it follows (`python_resolve`): import aliases, module-level and local
assignments, `global` assignments in a getter, `self.x = ...` in any method, class
attributes, `with ... as x`, parameter annotations, and the return value of a function
or property defined in the same module (a client made in one function, used in another).
"""

from __future__ import annotations

import ast
import io
import tokenize

from llmcontrol.audit import patterns
from llmcontrol.audit.models import ParseFailure, PythonScan, RawSite, Ref
from llmcontrol.audit.python_http import HttpSites
from llmcontrol.audit.python_index import Scope
from llmcontrol.audit.python_resolve import dotted, is_true, keyword


def scan_python(source: bytes, relative_path: str) -> PythonScan:
    text = _decode(source)
    try:
        tree = ast.parse(text, filename=relative_path)
    except (SyntaxError, ValueError) as exc:
        raise ParseFailure(_describe_parse_error(exc)) from exc
    return _Scanner(tree, relative_path).run()


def _decode(source: bytes) -> str:
    """Decoded first: the parser lets undecodable bytes through inside comments."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        problem = None
    except SyntaxError as exc:  # an unknown codec, or undecodable bytes in the first lines
        encoding, problem = "utf-8", str(exc)
    try:
        text = source.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ParseFailure(f"not {exc.encoding} text (byte {exc.start})") from exc
    if problem is not None:
        raise ParseFailure(f"bad encoding declaration: {problem}")
    return text


def _describe_parse_error(exc: Exception) -> str:
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    return f"{type(exc).__name__}: {exc}"


class _Scanner(HttpSites):
    def __init__(self, tree: ast.Module, relative_path: str) -> None:
        super().__init__(tree, relative_path)
        self.hooks = []

    def run(self) -> PythonScan:
        found: dict[int, RawSite] = {}
        for call, scope in self.index.calls():
            site = self._site_for(call, scope)
            if site is not None:
                found[id(call)] = site
        found.update(self.helper_callers(found))
        return PythonScan(sites=sorted(found.values(), key=lambda s: s.line), hooks=self.hooks,
                          builders=self.request_builders(), class_bases=self.index.class_bases)

    def _site_for(self, call: ast.Call, scope: Scope) -> RawSite | None:
        ref = self.resolve(call.func, scope)
        if ref is not None:
            sdk_call = patterns.match_sdk(ref.path)
            if sdk_call is not None:
                return self._sdk_site(call, scope, ref, sdk_call)
            method = patterns.http_method(ref.path)
            if method is not None:
                return self.http_site(call, scope, ref, method)
        # A receiver that could not be followed to an SDK (a pool of clients, a parameter).
        chain = ref.path if ref is not None else dotted(call.func)
        sdk_call = patterns.match_unresolved(chain, self.index.imported_sdks) if chain else None
        return self._sdk_site(call, scope, Ref(chain), sdk_call) if sdk_call and chain else None

    def _sdk_site(self, call: ast.Call, scope: Scope, ref: Ref,
                  sdk_call: patterns.SdkCall) -> RawSite:
        ctor = ref.ctor if isinstance(ref.ctor, ast.Call) else None
        model = self.literal(keyword(call, "model"), scope)
        if model is None and ctor is not None:
            model = self.literal(keyword(ctor, "model") or keyword(ctor, "model_name"), scope)
            if model is None and sdk_call.sdk == "google-genai" and ctor.args:
                model = self.literal(ctor.args[0], scope)
        streaming = sdk_call.streaming or is_true(keyword(call, "stream"))
        hints = self.hints(call, scope)
        if ctor is not None:
            hints += self.ctor_hints(ctor, scope)
        return self.raw(call, scope, sdk=sdk_call.sdk, call_name=ref.path, model=model,
                        streaming=streaming, migrated=sdk_call.sdk == "llmcontrol", hints=hints)
