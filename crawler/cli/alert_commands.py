"""``newsmon alerts``: send a test message to an alert's targets, or list the alerts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from crawler.cli.command import Command, reading
from crawler.cli.render import print_json, print_table, short_time
from crawler.config import Settings
from crawler.config_alerts import AlertConfig
from crawler.errors import UsageError

ACTIONS = {
    "test": "send a sample message to each target of alert NAME; exit 1 if one failed",
    "list": "the alerts, their filters and targets, with messages sent, waiting and failing",
}


def add_alerts_options(parser: argparse.ArgumentParser) -> None:
    # A positional action, as `newsmon db` has (see crawler.cli.db_commands).
    parser.add_argument(
        "action",
        choices=sorted(ACTIONS),
        help="; ".join(f"{name}: {text}" for name, text in ACTIONS.items()),
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="the alert (for test)")
    parser.add_argument("--format", choices=["table", "json"], default="table")


def alerts(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.alerts.targets import check_targets

    check_targets(settings, str(path))
    if args.action == "test":
        if args.name is None:
            raise UsageError("alerts test needs the NAME of an alert (see newsmon alerts --help)")
        return test_alert(find_alert(settings, args.name, path), args.format)
    return list_alerts(settings, args.format)


def find_alert(settings: Settings, name: str, path: Path) -> AlertConfig:
    for alert in settings.alerts:
        if alert.name == name:
            return alert
    names = ", ".join(a.name for a in settings.alerts)
    defined = f"defines: {names}" if names else "defines no [[alerts]]"
    raise UsageError(f"unknown alert {name!r} ({path.name} {defined})")


def test_alert(alert: AlertConfig, fmt: str) -> int:
    from crawler.alerts.messages import sample
    from crawler.alerts.targets import send, shown

    title, body = sample(alert.name)
    results = []
    for url in alert.notify:
        result = send(url, title, body)
        results.append({"target": shown(url), "ok": result.ok, "error": result.error})
    if fmt == "json":
        print_json(results)
    else:
        for r in results:
            outcome = "sent" if r["ok"] else f"FAILED: {r['error']}"
            print(f"{alert.name} → {r['target']}: {outcome}")
    return 0 if all(r["ok"] for r in results) else 1


def list_alerts(settings: Settings, fmt: str) -> int:
    from crawler.alerts.targets import shown, target_key
    from crawler.store.alert_deliveries import target_counts
    from crawler.store.queries import iso

    names = [a.name for a in settings.alerts]
    with reading(settings) as session:
        counts = target_counts(session, names)
    rows: list[dict[str, Any]] = []
    for alert in settings.alerts:
        for url in alert.notify:
            sent, waiting, failed, last = counts.get((alert.name, target_key(url)), (0, 0, 0, None))
            rows.append(
                {
                    "alert": alert.name,
                    "search": list(alert.search),
                    "tags": list(alert.tags),
                    "feeds": list(alert.feeds),
                    "sites": list(alert.sites),
                    "events": list(alert.events),
                    "target": shown(url),
                    "sent": sent,
                    "waiting": waiting,
                    "given_up": failed,
                    "last_sent_at": iso(last),
                }
            )
    if fmt == "json":
        print_json(rows)
        return 0
    print_table(
        ["alert", "events", "target", "sent", "waiting", "given up", "last sent"],
        (
            [
                r["alert"],
                ",".join(r["events"]),
                r["target"],
                r["sent"],
                r["waiting"],
                r["given_up"],
                short_time(r["last_sent_at"], "never"),
            ]
            for r in rows
        ),
        [20, 10, 50, 6, 7, 8, 16],
        empty="(no [[alerts]] in the settings)",
    )
    return 0


ALERTS_COMMAND = Command(
    "alerts",
    "the [[alerts]] of the settings: send a test message (test NAME), or list them",
    "newsmon alerts test kherson   |   newsmon alerts list --format json",
    alerts,
    add_alerts_options,
)
