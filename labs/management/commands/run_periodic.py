"""Celery beat for the embedded shape: run CELERY_BEAT_SCHEDULE's tasks in this process, at their intervals.

Without a broker (`CELERY_TASK_ALWAYS_EAGER`) there is no beat and no worker, so nothing would send the
deadline reminders, re-queue stuck rows or refresh the CNIL counts. `make demo` starts this command in the
background next to the server. Tasks are found by name in the Celery registry (no import of the apps that
define them: labs sits at the bottom of the layers) and run here with `apply()`; each is idempotent, so
running beside a real beat would only repeat harmless work. One failing task is reported and the loop
goes on. With a broker, run `celery -A config beat` and a worker instead.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from celery import current_app
from celery.schedules import BaseSchedule, maybe_schedule
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


@dataclass
class Outcome:
    name: str
    task: str
    ok: bool
    result: Any


class PeriodicRunner:
    """The schedule's entries with the (monotonic) time each is next due; every entry is due at start."""

    def __init__(self, beat_schedule: dict[str, dict[str, Any]], *, app: Any = None) -> None:
        self.app = app or current_app
        self.app.loader.import_default_modules()  # what a worker does at start: autodiscover every tasks.py
        unknown = sorted(entry["task"] for entry in beat_schedule.values() if entry["task"] not in self.app.tasks)
        if unknown:
            raise CommandError(f"Tâche inconnue dans CELERY_BEAT_SCHEDULE : {', '.join(unknown)}.")
        self.entries: dict[str, tuple[str, BaseSchedule, tuple, dict]] = {
            name: (
                entry["task"],
                maybe_schedule(entry["schedule"], app=self.app),
                tuple(entry.get("args", ())),
                dict(entry.get("kwargs", {})),
            )
            for name, entry in beat_schedule.items()
        }
        self.next_due: dict[str, float] = dict.fromkeys(self.entries, float("-inf"))

    def run_due(self, now: float) -> list[Outcome]:
        """Run every entry due at `now` (monotonic seconds), in the schedule's order; plan each one's next run."""
        outcomes = []
        for name, (task_name, schedule, args, kwargs) in self.entries.items():
            if self.next_due[name] > now:
                continue
            try:
                result = self.app.tasks[task_name].apply(args=args, kwargs=kwargs, throw=True).get()
                outcomes.append(Outcome(name, task_name, True, result))
            except Exception as exc:  # a periodic runner outlives one failing task, as a worker would
                outcomes.append(Outcome(name, task_name, False, f"{type(exc).__name__}: {exc}"))
            self.next_due[name] = now + schedule.remaining_estimate(self.app.now()).total_seconds()
        return outcomes

    def seconds_until_next(self, now: float) -> float:
        return max(0.0, min(self.next_due.values()) - now)


class Command(BaseCommand):
    help = (
        "Exécute les tâches périodiques (CELERY_BEAT_SCHEDULE : rappels d'échéance, reprise des envois "
        "bloqués, comptes du tableau CNIL, purges) dans ce processus, sans broker ; --once : une passe, puis s'arrête."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="une seule passe : chaque tâche une fois")
        parser.add_argument("--json", action="store_true", help="résumé JSON de la passe (avec --once)")

    def handle(self, *args: Any, **options: Any) -> None:
        runner = PeriodicRunner(settings.CELERY_BEAT_SCHEDULE)
        if options["once"]:
            outcomes = runner.run_due(time.monotonic())
            if options["json"]:
                summary = {o.name: {"task": o.task, "ok": o.ok, "result": o.result} for o in outcomes}
                self.stdout.write(json.dumps(summary, ensure_ascii=False, default=str))
            else:
                self._report(outcomes)
            if not all(o.ok for o in outcomes):
                raise CommandError("Au moins une tâche périodique a échoué (voir ci-dessus).")
            return
        names = ", ".join(runner.entries)
        self.stdout.write(f"Tâches périodiques ({names}) : exécutées ici à leur intervalle ; Ctrl-C pour arrêter.")
        try:
            while True:
                self._report(runner.run_due(time.monotonic()))
                time.sleep(max(0.5, runner.seconds_until_next(time.monotonic())))
        except KeyboardInterrupt:
            self.stdout.write("Tâches périodiques arrêtées.")

    def _report(self, outcomes: list[Outcome]) -> None:
        stamp = timezone.localtime().strftime("%H:%M:%S")
        for o in outcomes:
            if o.ok:
                self.stdout.write(f"[périodique {stamp}] {o.name} : fait ({o.result})")
            else:
                self.stderr.write(f"[périodique {stamp}] {o.name} : ÉCHEC — {o.result}")
