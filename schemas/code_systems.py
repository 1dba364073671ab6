"""Code systems, once (data in code_systems.csv): the canonical tokens, every spelling of each that a
source may use (vocabulary names, FHIR system URIs), and how a code is normalised before it is
compared (upper case, trimmed, ICD dots removed). The canonical validator, the adapters, the loader
and the value-set build all read them from here, so a system URI means the same in a canonical
extract as in a FHIR export, and a code compares the same in staging as in the value sets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl

CODE_SYSTEMS_FILE = Path(__file__).with_name("code_systems.csv")


@dataclass(frozen=True)
class CodeSystem:
    token: str                 # as extract-format.md names it (ICD10CM, SNOMED, ...)
    dotless: bool              # codes compare without their dots
    aliases: tuple[str, ...]   # other spellings and FHIR system URIs (http; https is accepted too)
    meaning: str

    @property
    def uris(self) -> list[str]:
        """Its FHIR system URIs, http then https."""
        http = [a for a in self.aliases if "://" in a]
        return http + [u.replace("http://", "https://", 1) for u in http]


@cache
def code_systems() -> dict[str, CodeSystem]:
    frame = pl.read_csv(CODE_SYSTEMS_FILE, comment_prefix="#", infer_schema=False).fill_null("")
    return {r["token"]: CodeSystem(r["token"], r["dotless"] == "yes", tuple(r["aliases"].split()), r["meaning"])
            for r in frame.iter_rows(named=True)}


def dotless_tokens() -> list[str]:
    return [s.token for s in code_systems().values() if s.dotless]


def system_uris(token: str) -> list[str]:
    """The FHIR system URIs of a token, http and https."""
    return code_systems()[token].uris


def spelling_key(name: str) -> str:
    """What two spellings of a system must share to be the same one: lower case, no scheme, letters
    and digits only (`http://snomed.info/sct` -> `snomedinfosct`, `ICD-10-CM` -> `icd10cm`)."""
    return re.sub(r"[^a-z0-9]", "", re.sub(r"^https?://", "", name.strip().lower()))


@cache
def _tokens_by_key() -> dict[str, str]:
    return {spelling_key(spelling): s.token for s in code_systems().values() for spelling in (s.token, *s.aliases)}


def token_of(name: str) -> str | None:
    """A source's vocabulary name or system URI as its token; None when unknown."""
    return _tokens_by_key().get(spelling_key(name))


def code_system_token(name: pl.Expr) -> pl.Expr:
    """token_of as a polars expression (null when unknown), for lazy adapter plans."""
    key = (name.str.strip_chars().str.to_lowercase().str.replace(r"^https?://", "")
           .str.replace_all(r"[^a-z0-9]", ""))
    return key.replace_strict(_tokens_by_key(), default=None, return_dtype=pl.String)


def canonical_system_column(names: pl.Series) -> pl.Series:
    """A canonical extract's code_system column: a known spelling becomes its token; an unknown one
    stays as written (upper case), so validation rejects it. Each distinct spelling is looked up
    once (a batch has millions of rows and a handful of spellings)."""
    distinct = names.drop_nulls().unique()
    tokens = [token_of(n) or n.upper() for n in distinct.to_list()]
    return names.replace_strict(distinct, pl.Series(tokens, dtype=pl.String), default=None, return_dtype=pl.String)


def normalise_code(code_system: str, code: str) -> str:
    """rules.md: codes compare upper case, trimmed, with ICD dots removed (R25.2 = R252, 571.5 = 5715)."""
    code = code.strip().upper()
    return code.replace(".", "") if code_system in dotless_tokens() else code


def normalised_code(code_system: pl.Expr, code: pl.Expr) -> pl.Expr:
    """normalise_code as a polars expression (code_system holds tokens)."""
    upper = code.str.to_uppercase().str.strip_chars()
    dotless = upper.str.replace_all(".", "", literal=True)
    return pl.when(code_system.is_in(dotless_tokens())).then(dotless).otherwise(upper)
