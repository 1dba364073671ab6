"""detect_format: each shared sample and fixture is recognised from its file names; a folder that
matches no format is refused with one line saying what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from cramp_audit.transforms.base import ExtractError
from cramp_audit.transforms.registry import detect_format

from tests.adapter_assertions import EXTERNAL

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(("folder", "expected"), [
    (EXTERNAL / "synthea_csv_v3_0_0", "synthea"),
    (EXTERNAL / "omop_synthea27nj_5_4", "omop"),
    (EXTERNAL / "mimic_iv_demo_2_2", "mimic"),
    (EXTERNAL / "fhir_r4_bulk_synthea_10pt", "fhir"),
    (FIXTURES / "synthea", "synthea"),
    (FIXTURES / "omop", "omop"),
    (FIXTURES / "mimic", "mimic"),
    (FIXTURES / "fhir", "fhir"),
])
def test_each_sample_is_recognised(folder, expected):
    assert detect_format(folder) == expected


def test_canonical_files_are_recognised_and_not_taken_for_synthea(tmp_path):
    (tmp_path / "patients.csv").write_text("patient_id,birth_date\nP1,1950-01-01\n")
    (tmp_path / "diagnoses.csv.gz").write_bytes(b"")
    (tmp_path / "medications.parquet").write_bytes(b"")
    (tmp_path / "conditions.csv").write_text("start,patient,code\n")  # lower case: not Synthea's header
    assert detect_format(tmp_path) == "canonical"


def test_omop_file_names_in_lower_case(tmp_path):
    (tmp_path / "person.csv").write_text("person_id\n")
    (tmp_path / "condition_occurrence.csv.gz").write_bytes(b"")
    assert detect_format(tmp_path) == "omop"


def test_folder_matching_no_format_is_refused_with_what_was_expected():
    with pytest.raises(ExtractError) as refused:
        detect_format(FIXTURES / "not_an_extract")
    message = str(refused.value)
    assert "\n" not in message
    for expected in ("canonical", "Synthea", "OMOP", "MIMIC-IV", "FHIR"):
        assert expected in message


def test_a_file_is_not_an_extract(tmp_path):
    (tmp_path / "x.csv").write_text("a\n")
    with pytest.raises(ExtractError, match="not a folder"):
        detect_format(tmp_path / "x.csv")
