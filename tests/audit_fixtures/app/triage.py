"""Ticket triage. Docstring with a call that must not count: client.messages.create(model="x")."""

import anthropic as a

MODEL = "claude-3-5-haiku-20241022"
client = a.Anthropic()


def classify_ticket(text: str) -> str:
    response = client.messages.create(
        model=MODEL,
        max_tokens=10,
        messages=[{"role": "user", "content": text}],
    )
    return response.content[0].text


def summarize_short(text: str) -> str:
    # client.messages.create(model=MODEL, messages=[])  <- commented out: not a site
    example = "client.messages.create(model='claude-3-opus')"  # a string: not a site
    with client.messages.stream(
        model="claude-3-5-sonnet-latest",
        max_tokens=200,
        messages=[{"role": "user", "content": text + example}],
    ) as stream:
        return "".join(stream.text_stream)
