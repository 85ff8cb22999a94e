"""Proof by search: several offline phones and the real server (a fresh database per example).

Hypothesis drives a road chief, a community station, the street's command centre, a handler and a
supervisor (station, handler and supervisor each on two devices), every phone with an outbox,
acting on what *its own* view shows, pushing when it likes, losing acknowledgements, replaying
stale batches late, and pulling. The server is the real
application (``server.create_app``) on a fresh copy of a prepared SQLite street per example,
served over HTTP by uvicorn in a thread of the test process (a process per example would cost a
second each). Between steps: nothing generated is lost, nothing is applied twice. At the end,
once every outbox is drained: every phone's view equals the server's, and the server's log holds
each accepted action exactly once.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from engine import Actor, Case, Event, Rejection, Role, Trigger, allowed_triggers, apply
from server import Settings, create_app
from shared import (
    PROTOCOL_VERSION,
    PUSH_PATH,
    Mutation,
    MutationStatus,
    PushRequest,
    PushResponse,
    dumps,
    event_from_wire,
    loads,
)

from .proofs import (
    InThreadServer,
    ServerProcess,
    SimPhone,
    SwitchApp,
    check,
    pull_everything,
    read_ledger,
    setup_street,
)
from .world import AFTER_SHA, CATEGORY

# one phone each, and a second device for the station, the handler and the supervisor: the same
# person acting on one case from two devices offline is where workflow conflicts come from
PEOPLE = ("chief", "station", "centre", "handler", "supervisor")
CAST = (*PEOPLE, "station", "handler", "supervisor")
TWINS = [
    (CAST.index(who), CAST.index(who, CAST.index(who) + 1))
    for who in dict.fromkeys(CAST)
    if CAST.count(who) > 1
]
# ~0.6 s an example on the 2-core CI box; a nightly run can raise it
STATS: Counter[str] = Counter()  # what the search went through, printed at the end
EXAMPLES = int(os.environ.get("ROADCHIEF_STATEFUL_EXAMPLES", "40"))


@dataclass
class Template:
    """A street prepared once by a real server process; each example starts from a copy of its DB."""

    db: Path
    photos: Path
    users: dict[str, dict[str, Any]]
    tokens: dict[str, str]
    road: str
    department: str


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    workdir = tmp_path_factory.mktemp("stateful")
    db = workdir / "template.db"
    with ServerProcess(f"sqlite:///{db}", workdir) as server:
        handle, street = setup_street(server)
        # open cases at every step, so phones meet them on their first pull and can clash over them
        for steps in ((), (), ("dispatch",), ("dispatch", "accept"), ("dispatch", "accept", "complete")):
            street.walk(street.report(), *steps)
        handle.close()
        server.stop()  # a clean shutdown, then a consistent copy below
    return Template(
        db=db,
        photos=workdir / "photos",
        users=street.users,
        tokens={who: street.apis[who].token or "" for who in PEOPLE},
        road=street.roads[0],
        department=street.departments[0],
    )


@pytest.fixture(scope="module")
def http_server() -> Iterator[tuple[SwitchApp, httpx.Client]]:
    """One uvicorn for the module; each example puts its own freshly built app behind it."""
    switch = SwitchApp()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # phone and server share the GIL: hand it over promptly
    with (
        InThreadServer(switch, lifespan="off") as running,
        httpx.Client(base_url=running.base_url, timeout=30) as client,
    ):
        yield switch, client
    sys.setswitchinterval(interval)


@dataclass
class OfflinePhone:
    """A ``SimPhone`` (outbox, answers heard) with the view the app shows: the server-confirmed
    records folded from pulled events, with the still-pending outbox replayed on top."""

    who: str
    sim: SimPhone
    actor: Actor
    role: Role
    confirmed: dict[str, Case] = field(default_factory=dict)
    sent: list[list[Mutation]] = field(default_factory=list)

    def view(self) -> dict[str, Case]:
        view = dict(self.confirmed)
        for mutation in self.sim.outbox:
            event = _event(mutation, self.actor, self.role)
            outcome = apply(view.get(mutation.case_id), event)
            if not isinstance(outcome, Rejection):
                view[mutation.case_id] = outcome  # type: ignore[assignment]
        return view


def _event(mutation: Mutation, actor: Actor, role: Role) -> Event:
    return Event(
        id=mutation.id,
        case_id=mutation.case_id,
        name=str(mutation.name),
        actor=actor,
        role=role,
        occurred_at=mutation.occurred_at,
        args=mutation.args,
        received_at=mutation.occurred_at + timedelta(seconds=1),
    )


def _args(trigger: Trigger, template: Template, pick: int) -> dict[str, Any] | None:
    return {
        Trigger.DISPATCH: {"department_id": template.department},
        Trigger.ESCALATE: {"reason": "需街道协调"},
        Trigger.CANCEL: {"reason": "重复上报"},
        Trigger.ACCEPT: {},
        Trigger.RETURN_CASE: {"reason": "不属本部门"},
        Trigger.COMPLETE: {"note": "已清理", "photos": [AFTER_SHA]},
        Trigger.APPROVE: {"note": "现场核实"},
        Trigger.REJECT: {"reason": "未整改到位"},
        Trigger.COMMENT: {"text": f"跟进{pick}"},
    }.get(trigger)


class OfflinePhones(RuleBasedStateMachine):
    """The machine: see the module docstring."""

    template: Template  # set by the fixture below
    switch: SwitchApp
    http: httpx.Client

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="rc-stateful-"))
        self.client: httpx.Client | None = None
        self.app: Any = None

    @initialize()
    def fresh_server(self) -> None:
        STATS["examples"] += 1
        t = self.template
        self.db = self.dir / "roadchief.db"
        with sqlite3.connect(t.db) as source, sqlite3.connect(self.db) as copy:
            source.backup(copy)  # a fresh database for this example
        self.url = f"sqlite:///{self.db}"
        app = create_app(
            Settings(
                database_url=self.url, photo_dir=t.photos, password_time_cost=1, password_memory_kib=1024
            ),
            migrate=False,
        )
        self.app = self.switch.current = app
        self.client = self.http
        self.phones = []
        for n, who in enumerate(CAST):
            user = t.users[who]
            actor = Actor(user["id"], user["street_id"], user["community_id"], user["department_id"])
            self.phones.append(
                OfflinePhone(who, SimPhone(token=t.tokens[who], name=f"{who}#{n}"), actor, Role(user["role"]))
            )
        self.lost_acks = 0
        for phone in self.phones:  # everyone synced this morning, then went offline
            self._pull(phone)

    def teardown(self) -> None:
        try:
            if self.client is not None:
                self._converge()
        finally:
            if self.app is not None:
                self.switch.current = None
                self.app.state.db.dispose()
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- what people do, offline ---------------------------------------------------------------

    @rule(pick=st.integers(0, 2**16))
    def chief_reports(self, pick: int) -> None:
        phone = self.phones[0]
        phone.sim.queue(
            "report",
            str(uuid.uuid4()),
            category=CATEGORY,
            road_id=self.template.road,
            description=f"占道{pick}",
        )

    @rule(who=st.integers(0, len(CAST) - 1), pick=st.integers(0, 2**16))
    def someone_acts_on_a_case_they_see(self, who: int, pick: int) -> None:
        phone = self.phones[who]
        choices = [
            (case_id, trigger)
            for case_id, case in sorted(phone.view().items())
            for trigger in allowed_triggers(case, phone.actor, phone.role)
            if _args(trigger, self.template, pick) is not None
        ]
        moves = [c for c in choices if c[1] is not Trigger.COMMENT]
        if moves and pick % 5:  # mostly moves along the loop (where phones clash), some comments
            choices = moves
        if not choices:
            return
        case_id, trigger = choices[pick % len(choices)]
        args = _args(trigger, self.template, pick)
        assert args is not None
        phone.sim.queue(trigger.value, case_id, **args)

    @rule(
        pair=st.sampled_from(TWINS),
        pick=st.integers(0, 2**16),
    )
    def one_person_acts_on_one_case_from_two_devices(self, pair: tuple[int, int], pick: int) -> None:
        """Both of a person's devices, offline, move the same case: one of the two must lose."""
        first, second = self.phones[pair[0]], self.phones[pair[1]]
        views = first.view(), second.view()
        shared = sorted(views[0].keys() & views[1].keys())
        options = []
        for case_id in shared:
            a = [
                t
                for t in allowed_triggers(views[0][case_id], first.actor, first.role)
                if t is not Trigger.COMMENT
            ]
            b = [
                t
                for t in allowed_triggers(views[1][case_id], second.actor, second.role)
                if t is not Trigger.COMMENT
            ]
            a = [t for t in a if _args(t, self.template, pick) is not None]
            b = [t for t in b if _args(t, self.template, pick) is not None]
            if a and b:
                options.append((case_id, a, b))
        if not options:
            return
        case_id, a, b = options[pick % len(options)]
        STATS["two-device clashes staged"] += 1
        for phone, triggers in ((first, a), (second, b)):
            trigger = (
                triggers[(pick // 7) % len(triggers)]
                if phone is first
                else triggers[-1 - pick % len(triggers)]
            )
            args = _args(trigger, self.template, pick)
            assert args is not None
            phone.sim.queue(trigger.value, case_id, **args)

    # --- the network -----------------------------------------------------------------------------

    @rule(who=st.integers(0, len(CAST) - 1), n=st.integers(1, 4), lose_ack=st.booleans())
    def sync(self, who: int, n: int, lose_ack: bool) -> None:
        """A sync round as the app runs it: push the head of the outbox, then pull."""
        self.push(who, n, lose_ack)
        self._pull(self.phones[who])

    @rule(who=st.integers(0, len(CAST) - 1), n=st.integers(1, 4), lose_ack=st.booleans())
    def push(self, who: int, n: int, lose_ack: bool) -> None:
        phone = self.phones[who]
        batch, body = phone.sim.request_body(n)
        if not batch:
            return
        phone.sim.sent_batches.append((batch[0].seq, batch[-1].seq))
        phone.sent.append(batch)
        assert self.client is not None
        response = self.client.post(PUSH_PATH, content=body, headers=phone.sim.headers)
        assert response.status_code == 200, response.text
        if lose_ack:
            self.lost_acks += 1  # the server committed; the phone never hears it
            STATS["lost acknowledgements"] += 1
            return
        answer = PushResponse.from_dict(loads(response.content))
        for result in answer.results:
            STATS[f"{result.status.value} {result.code or ''}".strip()] += 1
        phone.sim.hear(answer)

    @precondition(lambda self: any(p.sent for p in self.phones))
    @rule(who=st.integers(0, len(CAST) - 1), which=st.integers(0, 2**16))
    def a_stale_batch_arrives_late(self, who: int, which: int) -> None:
        """A request the network held back turns up after newer ones: it must change nothing."""
        phone = self.phones[who]
        if not phone.sent:
            return
        STATS["stale batches replayed"] += 1
        batch = phone.sent[which % len(phone.sent)]
        before = read_ledger(self.url)
        body = dumps(PushRequest(PROTOCOL_VERSION, phone.sim.device_id, tuple(batch)))
        assert self.client is not None
        response = self.client.post(PUSH_PATH, content=body, headers=phone.sim.headers)
        assert response.status_code == 200, response.text
        answer = PushResponse.from_dict(loads(response.content))
        assert all(r.status in (MutationStatus.DUPLICATE, MutationStatus.REJECTED) for r in answer.results)
        after = read_ledger(self.url)
        assert sorted(after.events) == sorted(before.events) and sorted(after.mutations) == sorted(
            before.mutations
        )

    @rule(who=st.integers(0, len(CAST) - 1))
    def pull(self, who: int) -> None:
        self._pull(self.phones[who])

    def _pull(self, phone: OfflinePhone) -> None:
        assert self.client is not None
        records, phone.sim.cursor, last_seq = pull_everything(
            self.client, "", phone.sim.token, phone.sim.device_id, phone.sim.cursor, limit=7
        )
        for record in records:
            event = event_from_wire(record["event"])
            outcome = apply(phone.confirmed.get(event.case_id), event)
            assert not isinstance(outcome, Rejection), f"{phone.who} cannot replay a server event: {outcome}"
            phone.confirmed[event.case_id] = outcome  # type: ignore[assignment]
        # what the server has processed leaves the outbox, heard or not (the PowerSync rule)
        phone.sim.outbox = [m for m in phone.sim.outbox if m.seq > last_seq]

    # --- what must always hold -------------------------------------------------------------------

    @invariant()
    def nothing_lost_nothing_twice(self) -> None:
        if self.client is None:
            return
        ledger = read_ledger(self.url)
        verdict = check(ledger, [p.sim for p in self.phones], drained=False)
        assert verdict.ok, verdict.summary()
        processed = {m[0] for m in ledger.mutations}
        pending = {m.id for p in self.phones for m in p.sim.outbox}
        generated = {mid for p in self.phones for mid in p.sim.generated}
        assert generated <= processed | pending, "a mutation vanished from both the outbox and the server"

    def _converge(self) -> None:
        assert self.client is not None
        for phone in self.phones:
            while phone.sim.outbox:
                self.push(self.phones.index(phone), 4, lose_ack=False)
        for phone in self.phones:
            self._pull(phone)
        ledger = read_ledger(self.url)
        verdict = check(ledger, [p.sim for p in self.phones], drained=True)
        assert verdict.ok, verdict.summary()
        # each accepted action is in the log once; each refused one is not in it at all
        events = [e[0] for e in ledger.events]
        assert len(events) == len(set(events)) == verdict.applied
        for phone in self.phones:
            for mid, answers in phone.sim.heard.items():
                assert (mid in events) == (
                    answers[0].status in (MutationStatus.APPLIED, MutationStatus.DUPLICATE)
                )
        # every phone's view is the server's
        with sqlite3.connect(self.db) as conn:
            server = {cid: loads(data) for cid, data in conn.execute("SELECT id, data FROM cases")}
        for phone in self.phones:
            assert {cid: c.to_dict() for cid, c in phone.view().items()} == server, phone.who


@pytest.fixture
def machine(template: Template, http_server: tuple[SwitchApp, httpx.Client]) -> Iterator[type[OfflinePhones]]:
    OfflinePhones.template = template
    OfflinePhones.switch, OfflinePhones.http = http_server
    yield OfflinePhones


def test_offline_phones_losing_acks_and_conflicting_converge_on_the_server_log_each_action_once(
    machine: type[OfflinePhones],
) -> None:
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            derandomize=True,
        ),
    )
    print(f"\nstateful proof: {dict(sorted(STATS.items()))}")
