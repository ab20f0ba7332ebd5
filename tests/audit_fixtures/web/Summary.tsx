import React, { useState } from "react";

export function SummaryButton({ text }: { text: string }) {
  const [summary, setSummary] = useState("");
  const onClick = async () => {
    const res = await fetch("/proxy/v1/messages", {
      method: "POST",
      body: JSON.stringify({ model: "claude-3-5-haiku-latest", messages: [{ role: "user", content: text }] }),
    });
    setSummary(await res.text());
  };
  return <button onClick={onClick}>{summary || "Summarize"}</button>;
}
