"""Counter-based random numbers as polars expressions.

Every random draw is a hash of (seed, stream name, row keys) such as (patient index, event number),
so a value never depends on how many rows came before it: the output is the same whatever the
chunk size, and byte-identical on every machine. (numpy is not a project dependency, and polars'
own `hash` is only stable within one build, so the mixing function is written out here: the
splitmix64 finaliser on UInt64, whose multiplications wrap.)
"""

from __future__ import annotations

import zlib

import polars as pl

_U64 = pl.UInt64
_MASK = 2**64 - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def _splitmix64(x: int) -> int:
    """The same mixing on a Python int (for deriving stream seeds)."""
    x = (x + _GOLDEN) & _MASK
    x = ((x ^ (x >> 30)) * _M1) & _MASK
    x = ((x ^ (x >> 27)) * _M2) & _MASK
    return x ^ (x >> 31)


def _shift_right(x: pl.Expr, bits: int) -> pl.Expr:
    return x // pl.lit(2**bits, dtype=_U64)


def _column(key: pl.Expr | str) -> pl.Expr:
    return pl.col(key) if isinstance(key, str) else key


def _mix(x: pl.Expr) -> pl.Expr:
    x = (x ^ _shift_right(x, 30)) * pl.lit(_M1, dtype=_U64)
    x = (x ^ _shift_right(x, 27)) * pl.lit(_M2, dtype=_U64)
    return x ^ _shift_right(x, 31)


class Rng:
    """Deterministic draws keyed by a stream name and one or two non-negative integer columns."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def _stream_seed(self, stream: str) -> int:
        return _splitmix64((self.seed << 32) ^ zlib.crc32(stream.encode()))

    def bits(self, stream: str, key: pl.Expr | str, sub_key: pl.Expr | str | None = None) -> pl.Expr:
        """A 64-bit hash of (key, sub_key) for this stream: splitmix64 at counter key * 2^20 + sub_key
        (key < 2^40, sub_key < 2^20). One mixing round keeps the expression small: polars evaluates
        a repeated sub-expression again each time it appears (lazy mode shares some of it)."""
        counter = _column(key).cast(_U64) * pl.lit(2**20, dtype=_U64)
        if sub_key is not None:
            counter = counter + _column(sub_key).cast(_U64)
        return _mix(pl.lit(self._stream_seed(stream), dtype=_U64) + counter * pl.lit(_GOLDEN, dtype=_U64))

    def uniform(self, stream: str, key: pl.Expr | str, sub_key: pl.Expr | str | None = None) -> pl.Expr:
        """Uniform float in [0, 1)."""
        return _shift_right(self.bits(stream, key, sub_key), 11).cast(pl.Float64) / float(2**53)

    def below(self, stream: str, n: int | pl.Expr, key: pl.Expr | str, sub_key: pl.Expr | str | None = None
              ) -> pl.Expr:
        """Uniform integer in [0, n) (n a constant or a per-row expression, n >= 1)."""
        n_expr = pl.lit(n) if isinstance(n, int) else n
        return (self.uniform(stream, key, sub_key) * n_expr).floor().cast(pl.Int64)
