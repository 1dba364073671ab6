"""The key checks (a patient / encounter known, the first row of a key) work on 64-bit hashes of the
keys, computed once per batch: their answers must be exactly those of comparing the strings, also
when two keys share a hash (made to happen here by a hash that maps everything to few values)."""

from __future__ import annotations

import cramp_audit.schemas.validate as validate
import polars as pl
import pytest
from cramp_audit.schemas.validate import KnownKeys, first_distinct

KEYS = pl.Series(["E1", "E2", None, "E3", "E10", "e1", " E1"])
QUERIES = pl.Series(["E1", "E4", None, "E3", "E10", "E2 ", "e1", "E1", "E100"])


@pytest.fixture(params=["real", "colliding"])
def hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "colliding":  # three hash values for every key there is
        monkeypatch.setattr(validate, "key_hashes", lambda keys: keys.str.len_bytes().fill_null(0).cast(pl.UInt64) % 3)
    return request.param


def test_membership_is_exact_whatever_the_hashes(hashes: str) -> None:
    known = KnownKeys(KEYS)
    assert known.contains(QUERIES).to_list() == [True, False, None, True, True, False, True, True, False]
    # the same as polars' is_in, value by value (null stays null: no key is compared with it)
    assert known.contains(QUERIES).to_list() == QUERIES.is_in(KEYS.drop_nulls().implode()).to_list()
    assert known.has_null


def test_added_keys_are_found_and_the_rest_still_are(hashes: str) -> None:
    known = KnownKeys(pl.Series(["b", "d"]))
    known.add(pl.Series(["a", None, "c", "d"]))
    assert known.contains(pl.Series(["a", "b", "c", "d", "e", "aa"])).to_list() == [
        True, True, True, True, False, False]
    empty = KnownKeys(pl.Series([], dtype=pl.String))
    assert empty.contains(pl.Series(["a", None])).to_list() == [False, None]
    assert empty.contains(pl.Series([], dtype=pl.String)).dtype == pl.Boolean  # a batch of no rows


def test_first_row_of_each_key_is_the_strings_own_answer(hashes: str) -> None:
    keys = pl.Series(["E1", "E2", "E1", "X9", "E2", None, None, "E22", "E1 "])
    assert first_distinct(keys, validate.key_hashes(keys)).to_list() == keys.is_first_distinct().to_list()
