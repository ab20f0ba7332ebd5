"""Things that look like LLM calls and are not.

    client.messages.create(model="claude-3-5-haiku-latest")
"""


class Inbox:
    def __init__(self, messages):
        self.messages = messages


def send(inbox: Inbox, text):
    # inbox has a `messages.create` too, but no LLM SDK is imported here.
    inbox.messages.create(text)
    snippet = 'openai.chat.completions.create(model="gpt-4o")'
    return snippet


# import anthropic
# anthropic.Anthropic().messages.create(model="claude-3-opus")
