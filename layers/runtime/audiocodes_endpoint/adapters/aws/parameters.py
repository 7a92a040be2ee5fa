"""SSM Parameter Store and Secrets Manager through Powertools Parameters: the secret store of
``config.secrets``, values cached for ``SECRET_MAX_AGE_SECONDS``."""

from __future__ import annotations

from typing import Any

from audiocodes_endpoint.config.secrets import SecretUnavailable

SECRET_MAX_AGE_SECONDS = 300


class ParameterStore:
    """``ssm:`` (decrypted SecureString) and ``secretsmanager:`` references."""

    def fetch(self, reference: str, scheme: str, name: str) -> Any:
        return _fetch(reference, scheme, name)

    def connect(self) -> None:
        connect_secret_stores()


def _fetch(reference: str, scheme: str, name: str) -> Any:
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        if scheme == "ssm":
            return parameters.get_parameter(name, decrypt=True, max_age=SECRET_MAX_AGE_SECONDS)
        return parameters.get_secret(name, max_age=SECRET_MAX_AGE_SECONDS)
    except GetParameterError as error:
        # ParameterNotFound, ResourceNotFoundException, AccessDeniedException, KMS errors, ...
        raise SecretUnavailable(reference, _error_code(error)) from None


def connect_secret_stores() -> None:
    """Powertools' SSM and Secrets Manager providers with fresh clients and no cached values.

    Called at init (so the first request does not build them) and after a SnapStart restore.
    """
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS

    parameters.clear_caches()
    DEFAULT_PROVIDERS["ssm"] = parameters.SSMProvider()
    DEFAULT_PROVIDERS["secrets"] = parameters.SecretsProvider()


def _error_code(error: Exception) -> str:
    cause = error.__cause__ or error.__context__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(cause).__name__)
    return type(cause or error).__name__
