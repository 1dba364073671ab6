"""sql/decide/macros_statistics.sql: the Wilson 95 % interval of a deviation rate and the small-numbers rule."""

from __future__ import annotations

import duckdb
import pytest

from cramp_audit.db import sql_text


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    connection.execute(sql_text("decide/macros_statistics.sql"))
    yield connection
    connection.close()


# Published values: Newcombe (1998), Statistics in Medicine 17:857-872, table I, method 3 (Wilson
# score without continuity correction), to 4 decimals; and the edge cases of the brief, by hand
# from the formula (5 decimals).
@pytest.mark.parametrize(
    ("deviations", "evaluated", "low", "high", "decimals"),
    [
        (81, 263, 0.2553, 0.3662, 4),
        (15, 148, 0.0624, 0.1605, 4),
        (0, 20, 0.0000, 0.1611, 4),
        (1, 29, 0.0061, 0.1718, 4),
        (0, 10, 0.0, 0.27753, 5),
        (5, 10, 0.23659, 0.76341, 5),
        (10, 10, 0.72247, 1.0, 5),
        (1, 1000, 0.00018, 0.00564, 5),
    ],
)
def test_wilson_interval_matches_published_values(con, deviations, evaluated, low, high, decimals):
    got_low, got_high = con.execute(
        "SELECT wilson_low($d, $n), wilson_high($d, $n)", {"d": deviations, "n": evaluated}
    ).fetchone()
    assert round(got_low, decimals) == pytest.approx(low, abs=10 ** -decimals)
    assert round(got_high, decimals) == pytest.approx(high, abs=10 ** -decimals)


def test_wilson_interval_stays_inside_0_and_1_and_contains_the_rate(con):
    rows = con.execute(
        """SELECT d, n, d / n AS rate, wilson_low(d, n) AS low, wilson_high(d, n) AS high
           FROM range(1, 60) AS t(n), LATERAL (SELECT unnest(range(0, n + 1)) AS d)"""
    ).fetchall()
    assert all(0.0 <= low <= rate <= high <= 1.0 for _, _, rate, low, high in rows)
    assert all(low == 0.0 for d, _, _, low, _ in rows if d == 0)
    assert all(high == 1.0 for d, n, _, _, high in rows if d == n)


def test_no_interval_without_anyone_evaluated(con):
    assert con.execute("SELECT wilson_low(0, 0), wilson_high(0, 0), wilson_low(NULL, NULL)").fetchone() == (
        None, None, None,
    )


@pytest.mark.parametrize(
    ("denominator", "evaluated", "kind"),
    [
        (0, 0, "none"),  # nothing audited: not a perfect score
        (7, 0, "not_evaluable"),  # everyone excluded or not evaluable: no rate, never 0 %
        (30, 1, "small"),
        (30, 19, "small"),
        (30, 20, "ranked"),
        (500, 480, "ranked"),
    ],
)
def test_rate_kind_marks_small_numbers_and_never_calls_not_evaluable_zero(con, denominator, evaluated, kind):
    assert con.execute("SELECT rate_kind($d, $e, 20)", {"d": denominator, "e": evaluated}).fetchone()[0] == kind
