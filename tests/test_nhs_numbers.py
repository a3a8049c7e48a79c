"""NHS numbers: checked by the Modulus 11 digit, never written anywhere, and, with a key,
replaced by a pseudonym that is the same person's every day."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from family import bed_patient, care_home
from helpers import day, write_snapshot

from optimiser import InputError, allocate, load_snapshot
from optimiser.cli import main
from optimiser.data.identifiers import pseudonym, valid_nhs_number

VALID = ["943 476 5919", "4010232137", "401 023 2137", "9999999999"]  # published test numbers and an all-9s number
INVALID = ["9434765918", "4010232138", "123456789", "12345678901", "94347659l9", "1000000010"]  # 10 as check digit: never valid
KEY = b"a test key, not a real one"


def test_check_digits_of_known_valid_and_invalid_numbers():
    assert all(valid_nhs_number(number) for number in VALID)
    assert not any(valid_nhs_number(number) for number in INVALID)


def numbered_snapshot(folder: Path, numbers: list[str]) -> Path:
    patients = [bed_patient(f"P{i}", nhs_number=number) for i, number in enumerate(numbers)]
    pinned = [{"patient_id": "P0", "service_id": "C", "date": day(0)}]
    return write_snapshot(folder, patients, [care_home("C")], [{"service_id": "C", "date": day(0), "amount": 5}], pinned=pinned)


def test_invalid_numbers_are_listed_by_line_without_showing_them(tmp_path):
    folder = numbered_snapshot(tmp_path / "s", ["943 476 5919", "9434765918", "", "4010232137", "4010232137"])
    with pytest.raises(InputError) as error:
        load_snapshot(folder)
    report = error.value.report()
    assert [(p.line, p.column) for p in error.value.problems] == [(3, "nhs_number"), (5, "nhs_number"), (6, "nhs_number")]
    assert "not a valid NHS number" in report and "another patient too" in report
    assert "9434765918" not in report and "4010232137" not in report


def test_numbers_are_never_written_and_pseudonyms_are_stable(tmp_path):
    numbers = ["943 476 5919", "4010232137"]
    folder = numbered_snapshot(tmp_path / "s", numbers)
    plan = allocate(load_snapshot(folder))
    plan.write(tmp_path / "plan")
    for path in (tmp_path / "plan").iterdir():
        text = path.read_text()
        assert "9434765919" not in text and "943 476 5919" not in text and "4010232137" not in text
    with_key = load_snapshot(folder, pseudonym_key=KEY)
    ids = set(with_key.patients["patient_id"])
    assert ids == {pseudonym(number, KEY) for number in numbers}
    assert set(with_key.pinned["patient_id"]) == {pseudonym(numbers[0], KEY)}  # pinned rows follow their patient
    again = load_snapshot(folder, pseudonym_key=KEY)
    assert set(again.patients["patient_id"]) == ids  # the same person, the same pseudonym, every day
    assert pseudonym(numbers[0], b"another key of some length") not in ids
    result = CliRunner().invoke(
        main,
        ["--pseudonymise", "allocate", str(folder), "--out", str(tmp_path / "p2")],
        env={"OPTIMISER_PSEUDONYM_KEY": KEY.decode()},
    )
    assert result.exit_code == 0, result.output
    written = (tmp_path / "p2" / "plan.csv").read_text()
    assert pseudonym(numbers[0], KEY) in written and "P0" not in written and KEY.decode() not in written


def test_pseudonymise_without_a_key_is_refused(tmp_path):
    folder = numbered_snapshot(tmp_path / "s", ["943 476 5919"])
    result = CliRunner().invoke(main, ["--pseudonymise", "validate", str(folder)], env={"OPTIMISER_PSEUDONYM_KEY": ""})
    assert result.exit_code == 2 and "give a pseudonym key" in result.stderr


def test_without_a_patient_id_column_the_ids_are_pseudonyms_of_the_numbers(tmp_path, monkeypatch):
    numbers = ["943 476 5919", "4010232137"]
    folder = numbered_snapshot(tmp_path / "s", numbers)
    patients = folder / "patients.csv"
    lines = patients.read_text().splitlines()
    header = lines[0].split(",")
    at = header.index("patient_id")
    patients.write_text("\n".join(",".join(v for i, v in enumerate(line.split(",")) if i != at) for line in lines) + "\n")
    (folder / "pinned.csv").write_text(f"patient_id,service_id,date\n{pseudonym(numbers[0], KEY)},C,{day(0)}\n")
    monkeypatch.setenv("OPTIMISER_PSEUDONYM_KEY", "")
    with pytest.raises(InputError) as error:  # no key: refused, saying how to fix it
        load_snapshot(folder)
    assert "patient_id" in error.value.report() and "key" in error.value.report()
    monkeypatch.setenv("OPTIMISER_PSEUDONYM_KEY", KEY.decode())
    snapshot = load_snapshot(folder)
    assert set(snapshot.patients["patient_id"]) == {pseudonym(number, KEY) for number in numbers}
    assert list(snapshot.pinned["patient_id"]) == [pseudonym(numbers[0], KEY)]  # pinned by the pseudonym
    patients.write_text(patients.read_text().replace("4010232137", "943 476 5919"))
    with pytest.raises(InputError) as error:  # a shared number: named by line, not shown
        load_snapshot(folder)
    assert [(p.line, p.column) for p in error.value.problems] == [(3, "nhs_number")]
    assert "9434765919" not in error.value.report() and "943 476 5919" not in error.value.report()
