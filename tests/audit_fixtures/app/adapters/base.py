import httpx


class BaseAdapter:
    """Posts what a subclass's `_request` names: the endpoint is in the subclass's module."""

    def __init__(self, base_url):
        self._client = httpx.Client(base_url=base_url)

    def _request(self, prompt):
        raise NotImplementedError

    def complete(self, prompt):
        path, body = self._request(prompt)
        return self._client.post(path, json=body).json()

    def models(self):
        return self._client.get("/api/tags").json()
