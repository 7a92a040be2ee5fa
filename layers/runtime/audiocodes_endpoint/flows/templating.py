"""Tokens and conditions: Jinja2 in its immutable sandbox.

* Text fields render ``{{ input.data.numberMetaData.country }}`` style templates to a string.
* Conditions are Jinja2 expressions (``context.balance > 100``) evaluated to a Python value.
* Data fields (JSON bodies, activity parameters, ``set`` values) are walked: each string is a text
  template, except that a string that is exactly one ``{{ expression }}`` keeps the expression's
  native type, so ``"{{ context.count + 1 }}"`` stores a number, not ``"2"``.

Why the *immutable* sandbox: templates may read ``context`` and ``input`` but must never change
them (``context.items.append(x)``) or reach Python internals (``''.__class__``); both raise.
Missing values are ``ChainableUndefined``: ``a.b.c`` of a missing ``a`` renders as an empty string,
as CognigyScript does, instead of failing a live call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import ChainableUndefined, Template, Undefined
from jinja2.environment import TemplateExpression
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from audiocodes_endpoint.flows.fields import is_template

_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.DOTALL)


class TemplateRuntimeError(Exception):
    """A template failed while rendering (sandbox violation, bad operand, ...)."""


def _single_expression(source: str) -> str | None:
    """The inner expression if ``source`` is exactly one ``{{ ... }}``, else ``None``."""
    match = _WHOLE_EXPRESSION.match(source)
    if not match:
        return None
    inner = match.group("expr")
    if "{{" in inner or "}}" in inner or "{%" in inner or "{#" in inner:
        return None
    return inner


def _native(value: Any) -> Any:
    return None if isinstance(value, Undefined) else value


class _Environment(ImmutableSandboxedEnvironment):
    """Keys win over methods on mappings: flows hold JSON data, so ``context.items`` means the
    ``items`` key (as it would in CognigyScript), not ``dict.items``."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        # Jinja's default renders a blocked attribute as an empty string; failing loudly makes an
        # escape attempt (or a template that needs one) visible instead of silently blank.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")


class Templates:
    """Compiles each distinct template once and renders it against a scope."""

    def __init__(self) -> None:
        self._env = _Environment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=False)
        self._texts: dict[str, Template] = {}
        self._expressions: dict[str, TemplateExpression] = {}

    # --- compile (load time): raises jinja2.TemplateSyntaxError ---------------------------------

    def compile_text(self, source: str) -> None:
        if not is_template(source):
            return
        inner = _single_expression(source)
        if inner is not None:
            self.compile_expression(inner)
        elif source not in self._texts:
            self._texts[source] = self._env.from_string(source)

    def compile_expression(self, source: str) -> None:
        if source not in self._expressions:
            self._expressions[source] = self._env.compile_expression(source, undefined_to_none=False)

    def compile_data(self, value: Any) -> None:
        for text in _strings(value):
            self.compile_text(text)

    # --- render (run time): raises TemplateRuntimeError -----------------------------------------

    def text(self, source: str, scope: Mapping[str, Any]) -> str:
        if not is_template(source):
            return source
        inner = _single_expression(source)
        if inner is not None:
            value = self.evaluate(inner, scope)
            return "" if value is None else str(value)
        template = self._texts.get(source)
        try:
            if template is None:
                template = self._texts[source] = self._env.from_string(source)
            return template.render(scope)
        except Exception as error:  # sandbox, undefined, type errors: all fail the node alike
            raise TemplateRuntimeError(f"template {source!r}: {type(error).__name__}: {error}") from error

    def evaluate(self, source: str, scope: Mapping[str, Any]) -> Any:
        expression = self._expressions.get(source)
        try:
            if expression is None:
                expression = self._expressions[source] = self._env.compile_expression(source, undefined_to_none=False)
            return _native(expression(**scope))
        except Exception as error:
            raise TemplateRuntimeError(f"expression {source!r}: {type(error).__name__}: {error}") from error

    def test(self, source: str, scope: Mapping[str, Any]) -> bool:
        return bool(self.evaluate(source, scope))

    def data(self, value: Any, scope: Mapping[str, Any]) -> Any:
        if isinstance(value, str):
            if not is_template(value):
                return value
            inner = _single_expression(value)
            return self.evaluate(inner, scope) if inner is not None else self.text(value, scope)
        if isinstance(value, Mapping):
            return {key: self.data(item, scope) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(item, scope) for item in value]
        return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []
