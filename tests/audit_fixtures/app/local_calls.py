import litellm
import ollama
from ollama import Client


def screen_comment(comment):
    return ollama.chat(model="llama3.2:3b", messages=[{"role": "user", "content": comment}])


def draft_reply(thread):
    return Client(host="http://gpu-box:11434").generate(
        model="qwen3-coder:30b", prompt=thread, stream=True
    )


def analyze_logs(logs):
    return litellm.completion(model="gpt-4o", messages=[{"role": "user", "content": logs}])


async def ask(model_name, prompt):
    return await litellm.acompletion(model=model_name, messages=[{"role": "user", "content": prompt}])
