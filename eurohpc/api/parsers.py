"""JSON bodies as the API accepts them: standard JSON (no NaN or Infinity), nested at most MAX_DEPTH levels."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# No request of the API nests deeper than a few levels (a proposal's budget lines are three).
MAX_DEPTH = 32
TOO_DEEP = f"JSON parse error - arrays and objects are nested more than {MAX_DEPTH} levels deep."


def nesting_depth(value) -> int:
    """Depth of arrays and objects in a parsed JSON value, walked without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if nesting_depth(data) > MAX_DEPTH:
            raise ParseError(TOO_DEEP)
        return data
