"""The environment contract of DESIGN.md, read once. Secrets are ``SecretStr``: never printed."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, SecretStr


class Settings(BaseModel):
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str | None = None
    redis_url: SecretStr | None = None
    kubeconfig: str | None = None
    chatops_config: str | None = None
    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    alert_webhook_token: SecretStr | None = None
    alert_webhook_max_bytes: int | None = None  # the largest Alertmanager webhook body taken in (32 MB)
    chatops_llm: str | None = None
    chatops_llm_base_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if env is None else env
        values = {name: source.get(name.upper()) or None for name in cls.model_fields}
        return cls.model_validate(values)

    @staticmethod
    def reveal(secret: SecretStr | None) -> str | None:
        return secret.get_secret_value() if secret is not None else None
