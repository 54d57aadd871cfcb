"""Alertmanager's v2 API (silences) over HTTP with the standard library: the only Alertmanager client."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from bot.domain.errors import PermanentBackendError, TransientBackendError

TIMEOUT_S = 10.0


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


class Alertmanager:
    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode(errors="replace")
            cls = TransientBackendError if e.code >= 500 or e.code == 429 else PermanentBackendError
            raise cls("alertmanager", f"Alertmanager {method} {path} answered {e.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as e:
            raise TransientBackendError("alertmanager", f"Alertmanager unreachable: {type(e).__name__}") from None
        return json.loads(raw) if raw.strip() else None

    def create_silence(self, matchers: list[dict[str, object]], starts: float, ends: float, created_by: str,
                       comment: str) -> str:
        """A new silence; its id."""
        body = {"matchers": matchers, "startsAt": _iso(starts), "endsAt": _iso(ends),
                "createdBy": created_by, "comment": comment}
        out = self._call("POST", "/api/v2/silences", body)
        if not isinstance(out, dict) or not out.get("silenceID"):
            raise PermanentBackendError("alertmanager", f"Alertmanager gave no silenceID: {str(out)[:200]}")
        return str(out["silenceID"])

    def expire_silence(self, silence_id: str) -> None:
        self._call("DELETE", "/api/v2/silence/" + urllib.parse.quote(silence_id, safe=""))

    def silence(self, silence_id: str) -> dict[str, Any]:
        out = self._call("GET", "/api/v2/silence/" + urllib.parse.quote(silence_id, safe=""))
        return out if isinstance(out, dict) else {}
