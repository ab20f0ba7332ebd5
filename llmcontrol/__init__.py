"""llmcontrol: route LLM calls between local and cloud models, and move traffic safely."""
