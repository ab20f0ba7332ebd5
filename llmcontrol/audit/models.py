"""The audit's data: what a scanner finds, and what the report is built from."""

from __future__ import annotations

from dataclasses import dataclass, field

TIERS = ("haiku", "sonnet", "opus", "unknown")


@dataclass(frozen=True, slots=True)
class Ref:
    """What an expression evaluates to, as far as static reading can tell.

    `path` is dotted, with `()` after every call: `anthropic.Anthropic().messages.create`.
    `ctor` is the last call on the way (the client's constructor or factory), whose
    arguments may carry the model or the purpose.
    """

    path: str
    ctor: object | None = None


@dataclass(frozen=True, slots=True)
class Hint:
    """A name or text near a call that says what the call is for."""

    source: str  # "function name", "class name", "variable name", "file name", "prompt text", ...
    text: str


@dataclass(slots=True)
class RawSite:
    """One call as a scanner sees it, before the tier estimate and the folder rules."""

    line: int
    sdk: str
    call: str
    model: str | None
    streaming: bool
    migrated: bool
    function: str | None
    function_lines: int
    hints: list[Hint] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RequestHook:
    """An HTTP POST whose URL comes from `self.<method>()`, a hook subclasses implement.

    The POST lives in a shared base class; the endpoint is named by each subclass's
    implementation of the hook, possibly in another module. Joined across files.
    """

    class_name: str
    method: str
    callee: str  # the HTTP call, e.g. `httpx.Client().stream`


@dataclass(slots=True)
class RequestBuilder:
    """A method that returns a provider endpoint: a site once a RequestHook names it."""

    class_name: str
    method: str
    path: str
    site: RawSite


@dataclass(slots=True)
class PythonScan:
    sites: list[RawSite]
    hooks: list[RequestHook] = field(default_factory=list)
    builders: list[RequestBuilder] = field(default_factory=list)
    class_bases: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallSite:
    file: str
    line: int
    language: str
    sdk: str
    call: str
    model: str | None
    streaming: bool
    archived: bool
    migrated: bool
    local: bool  # already calls a local model (Ollama, an open-weights model name)
    tier: str
    tier_reason: str
    function: str | None
    function_lines: int

    @property
    def is_quick_win(self) -> bool:
        return self.tier == "haiku" and not self.archived and not self.migrated

    @property
    def would_move_local(self) -> bool:
        """A quick win whose tokens are paid to a cloud provider today."""
        return self.is_quick_win and not self.local


@dataclass(frozen=True, slots=True)
class Unparseable:
    file: str
    error: str


@dataclass(slots=True)
class ScanResult:
    root: str
    sites: list[CallSite] = field(default_factory=list)
    unparseable: list[Unparseable] = field(default_factory=list)
    files_scanned: int = 0


class ParseFailure(Exception):
    """A file that cannot be read as source code; the message says why."""
