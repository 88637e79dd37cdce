"""Benchmark: exporting a selection's members (what a scheduled export of a selection streams) against what
it should cost: finding the members once (the selection's count) plus writing as many rows as a whole-database
export writes in that time, in the same run.

Uses the data of ``bench/selections.py`` (built here the same way, or kept with ``--reuse``) and three selections
of it: interest ``News`` (a third of the profiles), ``City = "Amsterdam"`` (a tenth) and the three-rule selection
of that bench (City, interest News, opened in the last 30 days: about one percent). An export is read in keyset
batches of 1,000 rows, each batch asking SQL for membership again (``Profile.id IN (<members>)``): this bench
says whether that stays one pass over the members or grows with the number of batches.

Each export is consumed whole (Email only, CSV), with a fresh session as in a worker, median of ``--repeat``,
the exports interleaved; the counts (``count_selection``) likewise. Ends with ``BENCH selection export:
<worst ratio>x (members once + rows)``; target <= 1.5x.

Usage::

    .venv/bin/python bench/selection_export.py --profiles 300000 --results 1500000 --repeat 3 \\
        --database-url postgresql://postgres@127.0.0.1/verrijk_selection_export_bench
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import selections as data  # noqa: E402 - after the path is set


def one_rule_selection(account_id: int, database_id: int, name: str) -> int:
    """``News``: the interest News; ``City``: City = Amsterdam (made once, found again with ``--reuse``)."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Account, Database, Selection
    from webapp.selections import selections

    full_name = f"{name} (export bench)"
    existing = db.session.scalar(select(Selection.id).where(Selection.name == full_name))
    if existing is not None:
        return existing
    account = db.session.get_one(Account, account_id)
    database = db.session.get_one(Database, database_id)
    if name == "News":
        rule = {"interest_id": database.interests[0].id, "value": True}
    else:
        city = next(field.id for field in database.fields if field.name == "City")
        rule = {"field_id": city, "operator": "=", "value": "Amsterdam"}
    return selections.create_selection(account, database_id, full_name, rules={"rules": [rule]}).id


def _ms(values: list[float]) -> list[int]:
    return [round(value) for value in values]


def main() -> None:
    args = data.parse_args()
    from webapp.config import normalize_database_url

    args.database_url = normalize_database_url(args.database_url)
    data.check_target(args.database_url)
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    from webapp import create_app
    from webapp.exports import files
    from webapp.extensions import db
    from webapp.models import Account
    from webapp.selections import selections

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "REDIS_URL": ""})
    with app.app_context():
        print(f"bench selection export: {args.profiles:,} profiles, {args.results:,} email results")
        account_id, database_id = data.build(args)
        chosen = {
            "news": one_rule_selection(account_id, database_id, "News"),
            "city": one_rule_selection(account_id, database_id, "City"),
            "three rules": data.selection_for(account_id, database_id),
        }
        options = files.ExportOptions(fields=["Email"], interests=False)

        def export(selection_id: int | None) -> int:
            """Rows exported (the header left out)."""
            db.session.remove()
            account = db.session.get_one(Account, account_id)
            if selection_id is None:
                found = files.export_database(account, database_id, options)
            else:
                found = selections.export_selection(account, selection_id, options)
            return sum(chunk.count(b"\n") for chunk in found.chunks) - 1

        def count(selection_id: int) -> int:
            db.session.remove()
            return selections.count_selection(db.session.get_one(Account, account_id), selection_id).value

        rows = {"whole": export(None), **{name: export(selection_id) for name, selection_id in chosen.items()}}
        times: dict[str, list[float]] = {name: [] for name in rows}
        counts: dict[str, list[float]] = {name: [] for name in chosen}
        for _round in range(args.repeat):
            for name in times:
                started = time.perf_counter()
                export(chosen.get(name))
                times[name].append((time.perf_counter() - started) * 1000)
            for name, selection_id in chosen.items():
                started = time.perf_counter()
                count(selection_id)
                counts[name].append((time.perf_counter() - started) * 1000)
        median = {name: statistics.median(values) for name, values in times.items()}
        per_row = median["whole"] / rows["whole"]
        print(f"whole        {rows['whole']:>9,} rows: median {median['whole']:8.0f} ms, all {_ms(times['whole'])}")
        ratios = {}
        for name in chosen:
            expected = statistics.median(counts[name]) + rows[name] * per_row
            ratios[name] = median[name] / expected
            print(
                f"{name:12} {rows[name]:>9,} rows: median {median[name]:8.0f} ms, all {_ms(times[name])}; "
                f"count {statistics.median(counts[name]):.0f} ms + rows {rows[name] * per_row:.0f} ms "
                f"= {expected:.0f} ms: {ratios[name]:.2f}x"
            )
        worst = max(ratios.values())
        print(f"target: <= 1.5x (members once + rows): {'met' if worst <= 1.5 else 'NOT met'}")
        print(f"BENCH selection export: {worst:.2f}x (members once + rows)")


if __name__ == "__main__":
    main()
