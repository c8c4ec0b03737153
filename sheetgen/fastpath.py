"""Plain arithmetic formulas as Python functions: the common case, without the engine's cost.

The ``formulas`` engine runs every cell through a dispatcher (about 2 ms a cell), so a sheet of
ten thousand formulas takes a minute. Almost all of a generated sheet's formulas are plain
arithmetic on numbers (``=B6*E6+C6*F6+H6``, ``=TANH(I6)``, ``=1-J6^2``), which Python computes
with the same IEEE doubles. :func:`translate` turns such a formula into a function of its
inputs' values, following Excel's grammar (unary minus binds tighter than ``^``, and ``^`` is
left-associative). It declines (returns None) anything else, and the caller uses the result
only when every input is a number and the result is finite; otherwise the engine evaluates the
cell, so Excel's errors (#DIV/0!, #NUM!, #VALUE!) and text and boolean rules stay the engine's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

FastFunction = Callable[[Sequence[float]], float]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][\w.]*)|(?P<op>[-+*/^(),]))"
)
_FUNCTIONS = {"TANH": "_tanh", "EXP": "_exp"}
_ENV = {"_tanh": math.tanh, "_exp": math.exp, "_pow": math.pow, "__builtins__": {}}


class _Decline(Exception):
    """The formula is outside the plain-arithmetic subset."""


def translate(text: str, inputs: Sequence[str]) -> FastFunction | None:
    """A function computing ``text`` from its inputs' values (in ``inputs`` order), or None."""
    tokens = _tokens(text)
    if tokens is None:
        return None
    index = {name.upper(): i for i, name in enumerate(inputs)}
    parser = _Parser(tokens, index)
    try:
        body = parser.expression()
        if parser.pos != len(tokens):
            return None
    except _Decline:
        return None
    code = compile(f"lambda a: {body}", "<formula>", "eval")
    fn: FastFunction = eval(code, dict(_ENV))  # built only from our own tokens, no builtins
    return fn


def _tokens(text: str) -> list[tuple[str, str]] | None:
    if not text.startswith("="):
        return None
    out: list[tuple[str, str]] = []
    pos, body = 0, text[1:]
    while pos < len(body):
        if body[pos:].isspace():
            break
        match = _TOKEN.match(body, pos)
        if match is None or match.end() == pos:
            return None
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], index: dict[str, int]) -> None:
        self.tokens, self.index, self.pos = tokens, index, 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, op: str) -> bool:
        if self._peek() == ("op", op):
            self.pos += 1
            return True
        return False

    def expression(self) -> str:
        left = self._term()
        while (tok := self._peek()) in (("op", "+"), ("op", "-")):
            self.pos += 1
            assert tok is not None
            left = f"({left} {tok[1]} {self._term()})"
        return left

    def _term(self) -> str:
        left = self._power()
        while (tok := self._peek()) in (("op", "*"), ("op", "/")):
            self.pos += 1
            assert tok is not None
            left = f"({left} {tok[1]} {self._power()})"
        return left

    def _power(self) -> str:
        left = self._unary()
        while self._take("^"):
            left = f"_pow({left}, {self._unary()})"
        return left

    def _unary(self) -> str:
        if self._take("-"):
            return f"(-{self._unary()})"
        if self._take("+"):
            return self._unary()
        return self._primary()

    def _primary(self) -> str:
        tok = self._peek()
        if tok is None:
            raise _Decline
        self.pos += 1
        kind, text = tok
        if kind == "num":
            return repr(float(text))
        if kind == "op":
            if text != "(":
                raise _Decline
            inner = self.expression()
            if not self._take(")"):
                raise _Decline
            return f"({inner})"
        if self._take("("):
            function = _FUNCTIONS.get(text.upper())
            if function is None:
                raise _Decline
            argument = self.expression()
            if not self._take(")"):
                raise _Decline
            return f"{function}({argument})"
        if text.upper() not in self.index:
            raise _Decline
        return f"a[{self.index[text.upper()]}]"
