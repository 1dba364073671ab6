"""A source with nothing for a required canonical table (here: no medication file) is refused with
one line, instead of being audited as an extract in which nothing was prescribed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cramp_audit.transforms.base import ExtractError

from cramp_audit.cli import main
from tests.adapter_assertions import read_to_end

FIXTURES = Path(__file__).parent / "fixtures"
MEDICATION_SOURCES = {
    "synthea": ["medications.csv.gz"],
    "fhir": ["MedicationRequest.000.ndjson"],
    "mimic": ["hosp/prescriptions.csv"],
    "omop": ["DRUG_EXPOSURE.csv"],
}


@pytest.mark.parametrize("fmt", sorted(MEDICATION_SOURCES))
def test_no_medication_source_is_refused(tmp_path, fmt, capsys):
    extract = tmp_path / fmt
    shutil.copytree(FIXTURES / fmt, extract)
    read_to_end(extract, fmt)  # the fixture as it is reads
    for name in MEDICATION_SOURCES[fmt]:
        (extract / name).unlink()
    with pytest.raises(ExtractError, match=f"the {fmt} extract has no source for the required table 'medications'"):
        read_to_end(extract, fmt)
    db = tmp_path / "cramp_audit.duckdb"
    assert main(["run", str(extract), "--format", fmt, "--db", str(db), "--no-prefect"]) == 2
    assert "required table 'medications'" in capsys.readouterr().err
    assert not db.exists()
