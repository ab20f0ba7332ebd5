"""The OpenAI-compatible gateway (`/v1/chat/completions`, `/v1/models`) over the client."""
