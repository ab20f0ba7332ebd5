import anthropic

client = anthropic.Anthropic()


def classify_document(doc):
    return client.messages.create(model="claude-3-haiku-20240307", messages=[])


def generate_report(data):
    return client.messages.create(model="claude-3-sonnet-20240229", messages=[])
