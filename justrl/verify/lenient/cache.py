"""A least-recently-used cache bounded in bytes, for the in-process caches of the lenient verifier.

``functools.lru_cache`` bounds the number of entries, not their size: 16k cached 8 KB answers with
their parsed structures hold hundreds of MiB. :class:`BytesLRU` weighs each entry once, when it is
stored (key plus value, measured by :func:`deep_size`), evicts the least recently used entries while
the total is above ``max_bytes``, and never stores an entry heavier than ``max_entry_bytes``.
Thread-safe.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import wraps
from typing import Any

_ATOMIC = (int, float, complex, bool, str, bytes, type(None))


def deep_size(obj: object, limit: int = 1 << 26) -> int:
    """Bytes held by ``obj`` and what it references (tuples, lists, dicts, sets, dataclass and
    ``__slots__`` fields), each object counted once; stops counting past ``limit``."""
    seen: set[int] = set()
    stack = [obj]
    total = 0
    while stack and total <= limit:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, _ATOMIC):
            continue
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (tuple, list, set, frozenset)):
            stack.extend(item)
        else:
            fields = getattr(item, "__dict__", None)
            if fields is not None:
                stack.append(fields)
            for name in getattr(type(item), "__slots__", ()):
                if hasattr(item, name):
                    stack.append(getattr(item, name))
            if hasattr(item, "numerator") and hasattr(item, "denominator"):  # Fraction
                stack.extend((item.numerator, item.denominator))
    return total


class BytesLRU:
    """Map keys to values, evicting least recently used entries beyond ``max_bytes`` in all."""

    def __init__(self, max_bytes: int, max_entry_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_bytes // 16 if max_entry_bytes is None else max_entry_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0  # current total weight of the stored entries

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return default
            self._data.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: Any) -> None:
        weight = deep_size(key) + deep_size(value) + 120  # 120: the OrderedDict slot and its tuple
        if weight > self.max_entry_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._data[key] = (value, weight)
            self.bytes += weight
            while self.bytes > self.max_bytes and self._data:
                _, (_, dropped) = self._data.popitem(last=False)
                self.bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._data)


_MISSING = object()


def bytes_cached(max_bytes: int, max_entry_bytes: int | None = None) -> Callable:
    """Decorator: memoise a one-argument function in a :class:`BytesLRU` (exposed as ``.cache``).

    Exceptions are not cached."""

    def wrap(func: Callable) -> Callable:
        cache = BytesLRU(max_bytes, max_entry_bytes)

        @wraps(func)
        def cached(arg):
            value = cache.get(arg, _MISSING)
            if value is _MISSING:
                value = func(arg)
                cache.put(arg, value)
            return value

        cached.cache = cache  # type: ignore[attr-defined]
        cached.cache_clear = cache.clear  # type: ignore[attr-defined]
        return cached

    return wrap
