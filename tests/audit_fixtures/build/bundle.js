import Anthropic from "@anthropic-ai/sdk";
new Anthropic().messages.create({ model: "claude-3-5-haiku-latest" });
