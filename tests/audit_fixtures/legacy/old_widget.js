const OpenAI = require("openai");

const openai = new OpenAI();

async function tagPhoto(url) {
  return openai.chat.completions.create({ model: "gpt-4o-mini", messages: [] });
}

module.exports = { tagPhoto };
