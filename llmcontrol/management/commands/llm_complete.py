"""Send one prompt through the client, as an application would, and show where it ran."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from llmcontrol.client import LLMCallError, LLMResult, RoutingError, get_llm_client
from llmcontrol.switches import ConfigError


class Command(BaseCommand):
    help = "Complete one prompt through llmcontrol's routing (purpose/sub-agent/phase or a model)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prompt")
        parser.add_argument("--system", default=None, help="system prompt")
        parser.add_argument("--purpose")
        parser.add_argument("--sub-agent")
        parser.add_argument("--phase")
        parser.add_argument("--model", help="force a model (key or provider/key)")
        parser.add_argument("--provider", help="force a provider")
        parser.add_argument("--routing-key", help="user/session id: keeps the caller's side stable")
        parser.add_argument("--max-tokens", type=int, default=256)
        parser.add_argument("--json", action="store_true", dest="json_mode", help="ask for JSON")
        parser.add_argument("--stream", action="store_true", help="print text as it arrives")
        parser.add_argument("--as-json", action="store_true", help="print the whole result as JSON")

    def handle(self, *args: Any, **o: Any) -> None:
        client = get_llm_client(purpose=o["purpose"], sub_agent=o["sub_agent"], phase=o["phase"],
                                provider=o["provider"], model=o["model"],
                                routing_key=o["routing_key"])
        options = {"max_tokens": o["max_tokens"], "json": o["json_mode"]}
        try:
            if o["stream"]:
                result = None
                for part in client.stream(o["system"], o["prompt"], **options):
                    if isinstance(part, LLMResult):
                        result = part
                    else:
                        sys.stdout.write(part)
                        sys.stdout.flush()
                sys.stdout.write("\n")
                assert result is not None
            else:
                result = client.complete(o["system"], o["prompt"], **options)
        except (LLMCallError, RoutingError, ConfigError) as exc:
            raise CommandError(str(exc)) from None
        finally:
            client.backend.flush(timeout=5)
        if o["as_json"]:
            data = {k: v for k, v in vars(result).items() if k != "usage"}
            data["usage"] = vars(result.usage)
            self.stdout.write(json.dumps(data, indent=2))
            return
        if not o["stream"]:
            self.stdout.write(result.content)
        where = "local" if result.local else "cloud"
        self.stderr.write(
            f"\n[{result.tier} → {result.provider}/{result.model}, {where}"
            f"{', fallback' if result.fallback else ''}; {result.duration_ms:.0f} ms, "
            f"{result.usage.input_tokens}+{result.usage.output_tokens} tokens; {result.reason}]"
        )
