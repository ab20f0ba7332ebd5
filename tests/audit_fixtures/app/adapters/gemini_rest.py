from app.adapters.base import BaseAdapter

MODEL = "gemini-2.0-flash"


class GeminiRest(BaseAdapter):
    def _request(self, prompt):
        body = {"contents": [{"parts": [{"text": prompt}]}]}
        return f"/v1beta/models/{MODEL}:generateContent", body


class UnrelatedRoutes:
    def _request(self, prompt):
        return "/api/chat", {"note": "same method name, but no POST uses this class"}
