"""The kinds of error perfwork raises, so a caller (the CLI, an app) can tell bad data from a bad request.

- ``DataError``: input data that does not fit (a file, table or YAML): the message names the file, row, column
  and what was expected. The CLI exits 1.
- ``UsageError``: a request that cannot be met as asked (an option out of range, an area of another level, a
  period end the data do not hold): the message says what is allowed. The CLI exits 2.
- ``NotFound``: a ``UsageError`` for something named that is not there (an area, a framework, a weight set).
  It is a ``KeyError`` too, for callers that look things up.

Anything else is a fault in perfwork and keeps its traceback.
"""

from __future__ import annotations


class DataError(ValueError):
    """Input data that does not fit the canonical model; the message says where and what was expected."""


class UsageError(ValueError):
    """A request that cannot be met as asked; the message says what is allowed."""


class NotFound(UsageError, KeyError):
    """Something named (an area, framework, weight set, target file) that is not there."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
