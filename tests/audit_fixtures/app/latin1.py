import anthropic
# café in Latin-1, not UTF-8
anthropic.Anthropic().messages.create(model="x")
