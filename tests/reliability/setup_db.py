"""Migrate and wire a database other than the test database (the private PostgreSQL):

    DATABASE_URL=... python -m tests.reliability.setup_db '{"anthropic": "http://..."}'

Prints `{"key": "<api key>"}`."""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmcontrol.settings")


def main() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from tests.reliability.wiring import new_key, wire

    wire(**json.loads(sys.argv[1]))
    print(json.dumps({"key": new_key()}), flush=True)


if __name__ == "__main__":
    main()
