"""NHS numbers: the Modulus 11 check, and keyed pseudonyms that replace them.

An NHS number is 10 digits (spaces allowed when written); the 10th is a check digit:
with the first nine weighted 10 down to 2, 11 - (sum mod 11) is the check digit (11
counts as 0; 10 means the number is not valid). NHS numbers are read, checked and then
never written: not to plan files, logs or messages (a problem names the line, not the
number). With a key, ``pseudonymise`` replaces each patient's id by an HMAC-SHA256
pseudonym of the NHS number: the same person gets the same pseudonym every day, so
``--keep`` still matches people, and neither the number nor the key can be read back from
it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import numpy as np

KEY_VARIABLE = "OPTIMISER_PSEUDONYM_KEY"


def nhs_digits(text: str) -> str:
    """The number without its spaces."""
    return "".join(str(text).split())


def valid_nhs_number(text: str) -> bool:
    digits = nhs_digits(text)
    if len(digits) != 10 or not digits.isdigit():
        return False
    check = 11 - sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1))) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def pseudonym(nhs_number: str, key: bytes) -> str:
    """A stable pseudonym of the NHS number under the key (``PS-`` and 16 hex digits)."""
    return "PS-" + hmac.new(key, nhs_digits(nhs_number).encode(), hashlib.sha256).hexdigest()[:16]


def pseudonym_key(path: str | Path | None = None) -> bytes:
    """The key: the file's contents, else the environment variable; ValueError if neither."""
    if path is not None:
        key = Path(path).read_bytes().strip()
    else:
        key = os.environ.get(KEY_VARIABLE, "").encode()
    if len(key) < 16:
        raise ValueError(f"give a pseudonym key of 16 characters or more, in --pseudonym-key FILE or {KEY_VARIABLE}")
    return key


def pseudonymise(snapshot, key: bytes) -> None:
    """Replace (in place) the patient_id of every patient with an NHS number by its pseudonym,
    in patients.csv and pinned.csv; then forget the numbers."""
    patients = snapshot.patients
    numbers = patients["nhs_number"].fillna("").astype(str)
    has = numbers.str.strip() != ""
    new_ids = np.where(has, [pseudonym(n, key) if h else "" for n, h in zip(numbers, has)], patients["patient_id"])
    mapping = dict(zip(patients["patient_id"], new_ids))
    patients["patient_id"] = new_ids
    patients["nhs_number"] = ""
    if len(snapshot.pinned):
        snapshot.pinned["patient_id"] = snapshot.pinned["patient_id"].map(lambda pid: mapping.get(pid, pid))
