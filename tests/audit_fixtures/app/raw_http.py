import urllib.request

import aiohttp
import httpx
import requests

OLLAMA_URL = "http://localhost:11434"
LOCAL_MODEL = "llama3.2:3b"


def triage_alert(alert):
    return httpx.post(
        "https://api.anthropic.com/v1/messages",
        json={"model": "claude-3-5-haiku-latest", "max_tokens": 20, "messages": []},
    )


def generate_text(prompt):
    return requests.post(f"{OLLAMA_URL}/api/generate", json={"model": LOCAL_MODEL, "prompt": prompt})


async def stream_answer(question):
    async with aiohttp.ClientSession() as session:
        payload = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": question}]}
        async with session.post("https://api.openai.com/v1/chat/completions", json=payload) as resp:
            return await resp.text()


def gemini_request(text):
    url = "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-flash:generateContent"
    request = urllib.request.Request(url, data=text.encode(), method="POST")
    return urllib.request.urlopen(request)


def not_llm_calls():
    httpx.get(f"{OLLAMA_URL}/api/tags")  # a health check: not a site
    requests.post("https://hooks.example.com/notify", json={"text": "/api/chat is up"})


class OllamaAdapter:
    def __init__(self, base_url):
        self.base_url = base_url
        self._http = httpx.Client()

    def _url(self, path):
        return self.base_url.rstrip("/") + path

    def chat(self, payload):
        url = self._url("/api/chat")
        return self._http.post(url, json=payload)

    def healthy(self):
        return self._http.get(self._url("/api/tags")).status_code == 200

    def _post(self, path, payload):
        return self._http.post(self._url(path), json=payload)

    def extract_entities(self, text):
        return self._post("/api/generate", {"model": "phi3:mini", "prompt": text})
