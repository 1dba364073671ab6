"""What the command line prints: the validation table and a run's closing lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cramp_audit.schemas.spec import TABLES_BY_NAME, unusable_tables

if TYPE_CHECKING:
    from cramp_audit.pipeline import AuditRequest, RunSummary
    from cramp_audit.transforms.base import Extract
    from cramp_audit.validation_summary import TableCounts


def validation_table(extract: Extract, counts: list[TableCounts]) -> str:
    """Rows per table, each table followed by every reason its rows were quarantined (as summarised)."""
    header = f"{'table':<12} {'read':>10} {'loaded':>10} {'rejected':>10} {'repaired':>10} {'skipped':>10}"
    lines = [f"format: {extract.format}", header, "-" * len(header)]
    for c in counts:
        lines.append(f"{c.table_name:<12} {c.rows_read:>10,} {c.rows_loaded:>10,} {c.rows_rejected:>10,} "
                     f"{c.rows_repaired:>10,} {c.rows_skipped:>10,}")
        lines += [f"    {r.rows:>6,} × {r.action:<8} {r.field}: {r.reason}" for r in c.reasons]
    for skip in extract.skipped:
        lines.append(f"skipped {skip.rows:,} rows of {skip.source_table}: {skip.reason}")
    unusable = unusable_tables({c.table_name: c.rows_loaded for c in counts})
    if unusable:
        lines.append(_unusable_line(unusable))
    lines += [f"{c.table_name}: no usable rows — a run refuses an extract whose required table is empty"
              for c in counts if TABLES_BY_NAME[c.table_name].required_file and c.rows_loaded == 0]
    balanced = all(c.rows_read == c.rows_loaded + c.rows_rejected + c.rows_skipped for c in counts)
    lines.append("counts reconcile: rows read = loaded + rejected + skipped" if balanced
                 else "WARNING: counts do not reconcile")
    return "\n".join(lines)


def closing_lines(request: AuditRequest, summary: RunSummary) -> list[str]:
    """The run's last lines, from its summary alone: the database may already be open in an analyst's
    client by the time they are printed."""
    cohort = summary.evaluation.cohort
    lines = [f"run {summary.run_id} {summary.status}",
             f"period {summary.evaluation.period_start} .. {summary.evaluation.period_end}",
             f"cohort: {cohort:,} patients" + ("" if cohort else
                                               " (no patient with a leg-cramps diagnosis in the period)")]
    unusable = summary.ingest.unusable
    if unusable:
        lines.append(_unusable_line(unusable))
    for rule in summary.rules:
        rate = rule.deviation_rate
        shown = "—" if rate is None else f"{rate:.1%}"
        # The rate's base is the patients the rule could judge, not its whole denominator.
        lines.append(f"  {rule.rule_id:<26} {rule.deviations:>6,} deviations of {rule.evaluated:>6,} evaluated "
                     f"({shown}); denominator {rule.denominator:,}")
    lines.append(f"reports: {summary.reports_dir}")
    lines.append(f"database: {request.db_path}")
    return lines


def _unusable_line(tables: list[str]) -> str:
    return (f"no usable rows in the extract: {', '.join(tables)} — rules that need them report their patients "
            "as not evaluable")
