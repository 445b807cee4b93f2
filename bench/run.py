"""`make bench`: every benchmark, printed with its floor."""

from __future__ import annotations

from bench import argon2_cost, coldstart


def main() -> None:
    coldstart.main()
    print()
    argon2_cost.main()


if __name__ == "__main__":
    main()
