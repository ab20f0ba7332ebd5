"""manage.py savings: tokens served locally and the money it saved, per day and in total."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from canary.actions import LOCAL_ELIGIBLE_TIERS
from canary.savings import BadPeriod, Report, parse_since, savings


class Command(BaseCommand):
    help = ("Tokens served locally, what they would have cost at the baseline model's prices, "
            "what they cost locally, and the difference, per UTC day and in total.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", default="7d", help="how far back: 30m, 24h, 7d, 2w "
                                                          "(default 7d)")
        parser.add_argument("--tier", choices=list(LOCAL_ELIGIBLE_TIERS),
                            help="one tier only (default: every tier that can go local)")
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = parse_since(options["since"])
        except BadPeriod as exc:
            raise CommandError(str(exc)) from None
        now = timezone.now()
        tier = options["tier"]
        report = savings(now - period, now, (tier,) if tier else None)
        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2))
        else:
            self.stdout.write(render(report))


def render(report: Report) -> str:
    lines = [f"Savings from {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC",
             f"{'day':<12}{'tokens served locally':>24}{'cloud cost':>14}{'local cost':>14}"
             f"{'saved':>14}"]
    for day, line in report.days.items():
        lines.append(f"{day.isoformat():<12}{line.tokens:>24,}{_usd(line.cloud_cost):>14}"
                     f"{_usd(line.local_cost):>14}{_usd(line.saved):>14}")
    total = report.total
    lines.append(f"{'total':<12}{total.tokens:>24,}{_usd(total.cloud_cost):>14}"
                 f"{_usd(total.local_cost):>14}{_usd(total.saved):>14}")
    for tier, price in sorted(report.baselines.items()):
        if price is not None:
            lines.append(f"{tier} baseline: {price.model} at ${price.input_per_mtok}/M input, "
                         f"${price.output_per_mtok}/M output tokens")
    if not report.days:
        lines.append("no tokens were served locally in this period")
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)


def _usd(amount: Any) -> str:
    return f"${amount:,.2f}"
