"""Evaluating switch conditions: a small declarative language, never ``eval``.

A leaf is ``{var: NAME, OP: VALUE}`` with OP one of eq, ne, in, gt, ge, lt, le, prefix,
is_set; ``{all: [...]}``, ``{any: [...]}`` and ``{not: {...}}`` combine. NAME is a flow
variable (set by a collect or host node) or a caller attribute: ``caller.vip``,
``caller.number``, ``caller.number_absent`` (P, O or none when there is no number),
``caller.dialled``, ``caller.port``, ``caller.language``, ``caller.older`` (the older
callers' mode is on, docs/ivr-insight.md),
``caller.errors`` (failures so far in this call). An unset variable makes every comparison
false except ``is_set: false``. Numeric comparisons on a value that is not a number are false.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from branchline.ivr._model import Condition

CALLER_ATTRIBUTES = frozenset({"caller.vip", "caller.older", "caller.number",
                               "caller.number_absent",
                               "caller.dialled", "caller.port",
                               "caller.language", "caller.errors"})


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def evaluate(condition: Condition, values: Mapping[str, object]) -> bool:
    if condition.all is not None:
        return all(evaluate(c, values) for c in condition.all)
    if condition.any is not None:
        return any(evaluate(c, values) for c in condition.any)
    if condition.not_ is not None:
        return not evaluate(condition.not_, values)
    assert condition.var is not None
    present = condition.var in values
    if condition.is_set is not None:
        return present == condition.is_set
    if not present:
        return False
    value = values[condition.var]
    if condition.eq is not None:
        return _text(value) == _text(condition.eq)
    if condition.ne is not None:
        return _text(value) != _text(condition.ne)
    if condition.in_ is not None:
        return _text(value) in {_text(v) for v in condition.in_}
    if condition.prefix is not None:
        return _text(value).startswith(condition.prefix)
    number = _number(value)
    if number is None:
        return False
    for op, bound in (("gt", condition.gt), ("ge", condition.ge), ("lt", condition.lt),
                      ("le", condition.le)):
        if bound is not None:
            limit = Decimal(str(bound))
            return {"gt": number > limit, "ge": number >= limit, "lt": number < limit,
                    "le": number <= limit}[op]
    return False
