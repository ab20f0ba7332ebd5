import OpenAI from "openai";
import { Anthropic as Claude } from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import axios from "axios";

const ai = new GoogleGenAI({});

export class CodeReviewer {
  private claude = new Claude();

  constructor(private readonly openai: OpenAI) {}

  async generateTests(code: string): Promise<unknown> {
    return this.openai.chat.completions.create({ model: "gpt-4o", stream: true, messages: [] });
  }

  async checkCriticalPaths(code: string): Promise<unknown> {
    const stream = this.claude.messages.stream({ model: "claude-sonnet-4-5", messages: [] });
    return stream.finalMessage();
  }
}

export async function extractKeywords(contents: string): Promise<unknown> {
  const response = await ai.models.generateContent({ model: "gemini-2.0-flash-lite", contents });
  return response.text;
}

export async function shortAnswer(question: string): Promise<unknown> {
  const { data } = await axios.post("https://api.openai.com/v1/chat/completions", {
    model: "gpt-4.1-nano",
    messages: [{ role: "user", content: question }],
  });
  return data;
}
