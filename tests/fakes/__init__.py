"""Protocol-faithful fake provider servers on loopback, and the bundled real model.

Fixtures (fake_ollama, fake_openai, fake_anthropic, fake_gemini, retry_sleeps,
smollm2_server) come from tests/fakes/fixtures.py; behaviours from
tests/fakes/behaviours.py.
"""
