import anthropic

def classify(text)
    return anthropic.Anthropic().messages.create(model="claude-3-5-haiku-latest")
