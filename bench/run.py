"""`make bench`: every benchmark, printed with its floor."""

from __future__ import annotations

from bench import coldstart


def main() -> None:
    coldstart.main()


if __name__ == "__main__":
    main()
