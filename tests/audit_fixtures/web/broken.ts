import OpenAI from "openai";

export function broken(: string {
  return new OpenAI().chat.completions.create({ model: "gpt-4o" });
}
