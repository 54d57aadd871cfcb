"""The environment contract of DESIGN.md, read once. Secrets are ``SecretStr``: never printed."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, SecretStr

from bot.domain import messages as msg


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


_URL_SCHEMES = {"SLACK_API_URL": ("http://", "https://"), "PROMETHEUS_URL": ("http://", "https://"),
                "ALERTMANAGER_URL": ("http://", "https://"), "CHATOPS_LLM_BASE_URL": ("http://", "https://"),
                "REDIS_URL": ("redis://", "rediss://", "unix://")}
_TOKEN_PREFIXES = {"SLACK_BOT_TOKEN": "xoxb-", "SLACK_APP_TOKEN": "xapp-"}


def startup_problems(settings: Settings, *, socket_mode: bool, embedded_store: bool,
                     environ: Mapping[str, str] | None = None) -> list[str]:
    """Every setting that stops ``chatops run`` from starting, each with what it is for (none: [])."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    if settings.slack_bot_token is None:
        problems.append(msg.setting_missing("SLACK_BOT_TOKEN"))
    if not socket_mode and settings.slack_signing_secret is None:
        problems.append(msg.signing_secret_or_app_token())
    for name, prefix in _TOKEN_PREFIXES.items():
        value = Settings.reveal(getattr(settings, name.lower()))
        if value is not None and not value.startswith(prefix):
            problems.append(msg.setting_invalid(name, f"does not start with {prefix}"))
    if settings.redis_url is None and not embedded_store:
        problems.append(msg.redis_or_embedded())
    for name, schemes in _URL_SCHEMES.items():
        raw = getattr(settings, name.lower())
        value = Settings.reveal(raw) if isinstance(raw, SecretStr) else raw
        if value is not None and not value.startswith(schemes):
            # The URL itself is not repeated: a Redis URL may carry a password.
            problems.append(msg.setting_invalid(name, f"is not a URL starting with {' or '.join(schemes)}"))
    if settings.kubeconfig is None and not env.get("KUBERNETES_SERVICE_HOST"):
        problems.append(msg.no_cluster_credentials())
    elif settings.kubeconfig is not None:
        missing = [p for p in settings.kubeconfig.split(os.pathsep) if p and not os.path.isfile(p)]
        if missing:
            problems.append(msg.file_missing("KUBECONFIG", missing[0]))
    if settings.chatops_config is None:
        problems.append(msg.setting_missing("CHATOPS_CONFIG"))
    return problems
