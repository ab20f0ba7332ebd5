const Anthropic = require("@anthropic-ai/sdk");

const HAIKU_MODEL = "claude-3-5-haiku-20241022";
const OLLAMA_URL = process.env.OLLAMA_BASE_URL || "http://localhost:11434";
const client = new Anthropic();

// await client.messages.create({ model: HAIKU_MODEL, messages: [] });
/* client.messages.create({ model: "claude-3-opus-latest" }) */
const docs = "call client.messages.create({ model }) to classify";
const example = `await client.messages.create({ model: "${HAIKU_MODEL}", messages: [] })`;

async function categorizeIssue(text) {
  const res = await client.messages.create({
    model: HAIKU_MODEL,
    max_tokens: 10,
    messages: [{ role: "user", content: text }],
  });
  return res.content[0].text;
}

async function chatLocally(messages) {
  const res = await fetch(`${OLLAMA_URL}/api/chat`, {
    method: "POST",
    body: JSON.stringify({ model: "llama3.2:3b", messages, stream: true }),
  });
  const tags = await fetch(`${OLLAMA_URL}/api/tags`);
  return [res, tags, docs, example];
}

module.exports = { categorizeIssue, chatLocally };
