"""A fast fake OpenAI-compatible upstream for the gateway benchmark (no Django, no threads).

    python _fast_upstream.py PORT

Answers POST /v1/chat/completions at once: a fixed completion, or (stream: true) a fixed
SSE stream of eight deltas, a usage chunk and [DONE]. Keep-alive HTTP/1.1 on loopback;
anything else gets a 404. Fast enough (tens of thousands of requests/s) that the
figures measure the client side, not this server.
"""

from __future__ import annotations

import asyncio
import json
import sys

COMPLETION = json.dumps({
    "id": "chatcmpl-fast", "object": "chat.completion", "created": 1700000000,
    "model": "smollm2-135m-instruct",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "bug"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 30, "completion_tokens": 1, "total_tokens": 31},
}).encode()


def _chunk(choices: list[dict], **extra: object) -> bytes:
    return b"data: " + json.dumps({"id": "chatcmpl-fast", "object": "chat.completion.chunk",
                                   "created": 1700000000, "model": "smollm2-135m-instruct",
                                   "choices": choices, **extra}).encode() + b"\n\n"


STREAM = b"".join([
    _chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]),
    *(_chunk([{"index": 0, "delta": {"content": w}, "finish_reason": None}])
      for w in ("The ", "export ", "button ", "bug ", "is ", "a ", "real ", "bug.")),
    _chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
    _chunk([], usage={"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38}),
    b"data: [DONE]\n\n",
])


def response(status: str, body: bytes, content_type: str) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n").encode() + body


REPLY = response("200 OK", COMPLETION, "application/json")
REPLY_STREAM = response("200 OK", STREAM, "text/event-stream")
NOT_FOUND = response("404 Not Found", b'{"error": {"message": "not found"}}', "application/json")


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            if not head.startswith(b"POST /v1/chat/completions"):
                writer.write(NOT_FOUND)
            elif json.loads(body).get("stream"):
                writer.write(REPLY_STREAM)
            else:
                writer.write(REPLY)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(int(sys.argv[1])))
