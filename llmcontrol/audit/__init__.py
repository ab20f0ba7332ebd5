"""The call-site audit: find every direct LLM call in a codebase and size the migration.

Framework-free except `estimates`, which reads recorded averages and prices from the
database and is imported only by the `audit_llm_calls` command.

    from llmcontrol.audit import audit_tree, build_report, render
    report = build_report(audit_tree(Path("src")), Assumptions())
    print(render(report, "markdown"))
"""

from __future__ import annotations

from llmcontrol.audit.models import CallSite, ScanResult, Unparseable
from llmcontrol.audit.render import render
from llmcontrol.audit.report import Assumptions, build_report
from llmcontrol.audit.scan import DEFAULT_ARCHIVE_DIRS, SKIPPED_DIRS, audit_tree

__all__ = [
    "DEFAULT_ARCHIVE_DIRS", "SKIPPED_DIRS", "Assumptions", "CallSite", "ScanResult",
    "Unparseable", "audit_tree", "build_report", "render",
]
