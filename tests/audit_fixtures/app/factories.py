from anthropic import Anthropic as A
from openai import OpenAI as OA

SECURITY_MODEL = "claude-opus-4-1"


def make_client():
    return OA()


def extract_invoice_fields(text):
    client = make_client()
    return client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": text}],
    )


class DiffReviewer:
    def __init__(self):
        self.client = A()

    def review(self, diff):
        return self.client.messages.create(
            model=SECURITY_MODEL,
            max_tokens=2000,
            messages=[{"role": "user", "content": "Review this diff for vulnerabilities:\n" + diff}],
        )
