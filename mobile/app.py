"""``RoadChiefApp``: the Kivy shell around the core — screens, navigation, language, the sync dot.

Thin on purpose. The core (``mobile.session.open_app``) owns the store, credentials, services and
the sync worker; each screen binds to its plain-Python view-model. This class only:

- builds the ``Shell`` (top bar, ``ScreenManager``, bottom navigation) and the seven screens;
- hands the core ``post_to_ui`` (``Clock.schedule_once``), so worker results land on the main thread;
- follows sync rounds: the top bar's dot and words, and one coalesced refresh of the visible screen
  (``Clock.create_trigger``), never a redraw per event;
- switches language live (every kv label binds to ``app.lang``; view-models are re-read);
- keeps settings (language, last server URL) in ``settings.json`` under ``user_data_dir``.

It starts on the sign-in screen when nobody is signed in, and on the home screen with the cached
data when someone is, whether or not the server can be reached.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import StringProperty
from kivy.uix.screenmanager import NoTransition

from engine import Case, Patrol, Role, label

from . import i18n
from .session import AppContext, open_app, sign_out
from .store import OutboxStatus
from .viewmodels import (
    CaseDetailViewModel,
    CasesViewModel,
    HomeViewModel,
    OutboxViewModel,
    PatrolViewModel,
    ReportViewModel,
    SignInViewModel,
)
from .viewmodels.common import category_title
from .viewmodels.coordinator import CoordinatorViewModel
from .viewmodels.handler import HandlerViewModel
from .viewmodels.overview import OverviewViewModel
from .viewmodels.settings import SettingsViewModel
from .viewmodels.supervisor import SupervisorViewModel
from .widgets import load_kv, theme

__all__ = ["SCREENS", "TABS", "RoadChiefApp"]

SCREENS = ("signin", "home", "patrol", "report", "cases", "case_detail", "outbox")
TABS = ("home", "patrol", "report", "cases", "outbox")
# --- roles (issue 6): each role's bottom navigation, its first tab is its home ---
ROLE_SCREENS = (
    "coordinator", "coordinate", "handler", "handle", "supervisor", "supervise", "overview", "settings"
)
ROLE_TABS: dict[Role, tuple[str, ...]] = {
    Role.ROAD_CHIEF: (*TABS, "settings"),
    Role.COORDINATOR: ("coordinator", "overview", "cases", "outbox", "settings"),
    Role.HANDLER: ("handler", "cases", "outbox", "settings"),
    Role.SUPERVISOR: ("supervisor", "overview", "cases", "outbox", "settings"),
    Role.ADMIN: ("overview", "cases", "outbox", "settings"),
}
ALL_TABS = frozenset(tab for tabs in ROLE_TABS.values() for tab in tabs)
_TAB_KEYS = {name: f"nav.{name}" for name in ALL_TABS}
SETTINGS_FILE = "settings.json"


class RoadChiefApp(App):
    """The field app. ``data_dir`` defaults to ``user_data_dir``; tests pass ``ctx`` ready-made."""

    title = "路长制 Road Chief"
    lang = StringProperty(i18n.DEFAULT_LANGUAGE)
    sync_status = StringProperty("offline")  # the top bar's dot: see theme.SYNC_COLOURS
    sync_label = StringProperty("")

    def __init__(
        self,
        *,
        data_dir: str | Path | None = None,
        ctx: AppContext | None = None,
        services: Any = None,
        server_url: str | None = None,
        lang: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._given_ctx = ctx
        self._services = services
        self._default_server = server_url or os.environ.get("ROADCHIEF_SERVER_URL", "")
        self._lang_override = lang
        self.ctx: AppContext | None = None
        self.history: list[str] = []
        self.last_outcome: Any = None
        self.syncing = False
        self._workers: set[int] = set()
        self._refresh_visible = Clock.create_trigger(self._refresh_current, 0.3)

    # --- building ---------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._data_dir or Path(self.user_data_dir)

    def post_to_ui(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the main thread at the next frame (any thread may call this)."""
        Clock.schedule_once(lambda _dt: callback(), 0)

    def activate(self) -> None:
        """Make this the running app, the one kv rules mean by ``app``.

        Kivy's kv ``app`` is a proxy that remembers the first running app until that app stops.
        One process normally runs one app; tests build several, so each build takes it over.
        """
        from kivy.lang.parser import global_idmap

        App._running_app = self
        proxy = global_idmap.get("app")
        try:
            object.__setattr__(proxy, "_obj", None)  # ProxyApp's cache: re-resolved on next use
        except (AttributeError, TypeError):
            pass

    def build(self) -> Any:
        self.activate()
        theme.register_font()
        load_kv()
        from .screens import SCREEN_CLASSES  # after the kv of the widgets they use
        from .screens.coordinator import CoordinateScreen, CoordinatorScreen
        from .screens.handler import HandlerScreen, HandleScreen
        from .screens.overview import OverviewScreen
        from .screens.settings import SettingsScreen
        from .screens.supervisor import SuperviseScreen, SupervisorScreen

        role_classes: dict[str, Any] = {
            "coordinator": CoordinatorScreen,
            "coordinate": CoordinateScreen,
            "handler": HandlerScreen,
            "handle": HandleScreen,
            "supervisor": SupervisorScreen,
            "supervise": SuperviseScreen,
            "overview": OverviewScreen,
            "settings": SettingsScreen,
        }
        from .widgets.common import Shell

        settings = self.load_settings()
        self.lang = self._lang_override or settings.get("lang") or i18n.DEFAULT_LANGUAGE
        services = self._services or self._desktop_services()
        ctx = self._given_ctx or open_app(self.data_dir, self.post_to_ui, services=services, start_sync=False)
        ctx.lang = self.lang
        self.ctx = ctx

        self.shell = Shell()
        manager = self.shell.ids.manager
        manager.transition = NoTransition()  # instant: a field app, and screenshots mid-slide are useless
        self.screens = {name: SCREEN_CLASSES[name](name=name) for name in SCREENS}
        self.screens.update({name: role_classes[name](name=name) for name in ROLE_SCREENS})
        for screen in self.screens.values():
            manager.add_widget(screen)

        self.signin_vm = SignInViewModel(ctx)
        if not self.signin_vm.server_url:
            self.signin_vm.server_url = settings.get("server_url") or self._default_server
        self.signin_vm.on_signed_in(self._signed_in)
        self.home_vm = HomeViewModel(ctx)
        self.patrol_vm = PatrolViewModel(ctx)
        self.report_vm = ReportViewModel(ctx)
        self.case_vm: CaseDetailViewModel | None = None
        for name, vm in (
            ("signin", self.signin_vm),
            ("home", self.home_vm),
            ("patrol", self.patrol_vm),
            ("report", self.report_vm),
        ):
            self.screens[name].attach(vm)
        # lists load thousands of rows: their view-models are made when first shown, not at start
        self._lazy: dict[str, Callable[[], Any]] = {
            "cases": lambda: CasesViewModel(ctx),
            "outbox": lambda: OutboxViewModel(ctx),
        }
        self._attach_roles()

        top, nav = self.shell.ids.top, self.shell.ids.nav
        top.bind(on_back=lambda *_: self.back(), on_language=lambda *_: self.toggle_language())
        nav.bind(on_tab=lambda _nav, name: self.show_report() if name == "report" else self.show(name))
        self.bind(lang=lambda *_: self._relabel())
        self.show(self.home_tab if self.signed_in else "signin")
        self.update_sync_state()
        return self.shell

    def _desktop_services(self) -> Any:
        from .services import DesktopServices, is_android, make_services
        from .widgets.photo_chooser import open_photo_chooser

        if is_android():
            return make_services(self.data_dir, post_to_ui=self.post_to_ui)
        position = os.environ.get("ROADCHIEF_POSITION")  # "lat,lon": a desktop has no GPS
        fix = tuple(float(v) for v in position.split(",")) if position else None
        return DesktopServices(
            position=fix,  # type: ignore[arg-type]
            chooser=lambda on_chosen: open_photo_chooser(on_chosen, self.lang),
        )

    def on_start(self) -> None:
        self.start_sync()

    def on_stop(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """Stop the worker and the clocks, let go of the view-models, close the store. Idempotent."""
        self._refresh_visible.cancel()
        for screen in getattr(self, "screens", {}).values():
            stop = getattr(screen, "_stop_clocks", None)
            if stop is not None:
                stop()
            screen.detach()
        if self.ctx is not None:
            self.ctx.close()
            self.ctx = None

    def on_pause(self) -> bool:
        return True  # Android: keep the process; the outbox is already on disk

    # --- settings ---------------------------------------------------------------------------

    def load_settings(self) -> dict[str, Any]:
        path = self.data_dir / SETTINGS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def save_settings(self, **values: Any) -> None:
        settings = {**self.load_settings(), **values}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / SETTINGS_FILE
        temp = path.with_name(path.name + ".part")
        temp.write_text(json.dumps(settings, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temp, path)

    # --- words ------------------------------------------------------------------------------

    def tr(self, key: str, lang: str | None = None, **values: object) -> str:
        """A UI string; kv passes ``app.lang`` so the label re-binds when the language changes."""
        return i18n.tr(key, lang or self.lang, **values)

    def word(self, value: Any, lang: str | None = None) -> str:
        """A domain word from the engine's table (a trigger, a step, a state), as a button says it."""
        language = lang or self.lang
        return i18n.capitalised(label(value, language), language)

    def toggle_language(self) -> None:
        self.lang = "en" if self.lang == "zh" else "zh"
        self.save_settings(lang=self.lang)

    def _relabel(self) -> None:
        if self.ctx is None:
            return
        self.ctx.lang = self.lang
        for name, screen in self.screens.items():
            if screen.vm is not None and name != "signin":
                screen.vm.refresh()  # view-models translate their rows when they load them
            screen.refresh()
        self._update_chrome(self.shell.ids.manager.current)
        self.update_sync_state()

    # --- navigation -------------------------------------------------------------------------

    def _vm(self, name: str) -> Any:
        """A screen's view-model, made (and attached) on first use for the lazy ones."""
        screen = self.screens[name]
        if screen.vm is None and name in self._lazy and self.ctx is not None:
            screen.attach(self._lazy[name]())
        return screen.vm

    @property
    def cases_vm(self) -> CasesViewModel:
        return self._vm("cases")  # type: ignore[no-any-return]

    @property
    def outbox_vm(self) -> OutboxViewModel:
        return self._vm("outbox")  # type: ignore[no-any-return]

    @property
    def signed_in(self) -> bool:
        ctx = self.ctx
        return ctx is not None and ctx.profile is not None and ctx.credentials.load() is not None

    def show(self, name: str, *, remember: bool = True) -> None:
        """Show a screen. Tabs reset the back history; other screens push onto it."""
        manager = self.shell.ids.manager
        self._vm(name)
        if name in ALL_TABS or name == "signin":
            self.history = []
        elif remember and manager.current != name:
            self.history.append(manager.current)
        manager.current = name
        self._update_chrome(name)

    def back(self) -> None:
        self.show(self.history.pop() if self.history else self.home_tab, remember=False)

    def _update_chrome(self, name: str) -> None:
        screen = self.screens[name]
        top, nav = self.shell.ids.top, self.shell.ids.nav
        top.title = self.tr(screen.title_key)
        top.can_go_back = screen.can_go_back
        top.lang_text = self.tr("lang.toggle")
        top.show_sync = name != "signin"
        self.shell.show_nav = bool(screen.nav_tab)
        nav.current = screen.nav_tab or nav.current
        badges = frozenset({"outbox"}) if self.sync_status == "refused" else frozenset()
        nav.set_tabs([(tab, self.tr(_TAB_KEYS[tab])) for tab in self.tabs], badges)

    def show_home(self) -> None:
        self.home_vm.refresh()
        self.show("home")

    def show_case(self, case_id: str) -> None:
        assert self.ctx is not None
        self.case_vm = CaseDetailViewModel(self.ctx, case_id)
        self.screens["case_detail"].attach(self.case_vm)
        self.show("case_detail")

    def show_report(self, patrol_id: str | None = None, road_id: str | None = None) -> None:
        """The report form; from a walking patrol (or while one is on), the report belongs to it."""
        assert self.ctx is not None
        active = self.patrol_vm.active
        if patrol_id is None and active is not None:
            patrol_id, road_id = active.id, self.patrol_vm.road_id
        if self.report_vm.patrol_id != patrol_id or self.report_vm.last_saved is not None:
            self.report_vm = ReportViewModel(self.ctx, patrol_id=patrol_id, road_id=road_id)
            self.screens["report"].saved_text = ""
            self.screens["report"].attach(self.report_vm)
        self.show("report")

    def report_filed(self, case: Case) -> None:
        """A report was saved: count it for its patrol and go back to walking, or stay for the next."""
        self.home_vm.refresh()
        self.update_sync_state()
        if case.patrol_id is not None and self.patrol_vm.active is not None:
            self.patrol_vm.note_found(case.id)
            self.show("patrol")

    def case_titles(self, case_ids: Iterable[str]) -> dict[str, str]:
        """What each record is, for the outbox list: a category name, or "巡查 · road"."""
        assert self.ctx is not None
        store, reference, titles = self.ctx.store, self.ctx.reference, {}
        for case_id in dict.fromkeys(case_ids):
            record = store.view_record(case_id)
            if isinstance(record, Case):
                titles[case_id] = category_title(record.category_code, reference, self.lang)
            elif isinstance(record, Patrol):
                road = reference.road(record.road_id)
                titles[case_id] = self.tr("nav.patrol") + (f" · {road.name}" if road else "")
        return titles

    # --- roles (issue 6) --------------------------------------------------------------------

    @property
    def tabs(self) -> tuple[str, ...]:
        """The bottom navigation of the signed-in user's role."""
        profile = self.ctx.profile if self.ctx is not None else None
        return ROLE_TABS.get(profile.role if profile else Role.ROAD_CHIEF, ROLE_TABS[Role.ROAD_CHIEF])

    @property
    def home_tab(self) -> str:
        return self.tabs[0]

    def _attach_roles(self) -> None:
        """Fresh view-models for the desk screens: the signed-in user (and so their queue) changed."""
        ctx = self.ctx
        assert ctx is not None
        self.coordinator_vm = CoordinatorViewModel(ctx)
        self.handler_vm = HandlerViewModel(ctx)
        self.supervisor_vm = SupervisorViewModel(ctx)
        self.overview_vm = OverviewViewModel(ctx)
        self.settings_vm = SettingsViewModel(ctx)
        self.settings_vm.on_language(self._language_chosen)
        self.settings_vm.on_server(lambda url: self._server_chosen(url))
        self.settings_vm.on_signed_out(lambda _kept: self._signed_out())
        for queue, work, vm in (
            ("coordinator", "coordinate", self.coordinator_vm),
            ("handler", "handle", self.handler_vm),
            ("supervisor", "supervise", self.supervisor_vm),
        ):
            self.screens[queue].attach(vm)
            self.screens[work].attach(vm)
        self.screens["overview"].attach(self.overview_vm)
        self.screens["settings"].attach(self.settings_vm)

    def _language_chosen(self, code: str) -> None:
        if code != self.lang:
            self.lang = code
            self.save_settings(lang=code)

    def _server_chosen(self, url: str) -> None:
        self.save_settings(server_url=url)
        self.signin_vm.server_url = url

    def _signed_out(self) -> None:
        """Settings signed out (the core kept any unsent work): back to the sign-in screen."""
        self.signin_vm.refresh()
        self.show("signin")
        self.update_sync_state()

    # --- signing in and out -----------------------------------------------------------------

    def _signed_in(self, _profile: Any) -> None:
        self.save_settings(server_url=self.ctx.server_url if self.ctx else "")
        self.start_sync()
        for name in ("home", "patrol", "cases", "outbox"):
            if self.screens[name].vm is not None:
                self.screens[name].vm.refresh()
        self.report_vm = ReportViewModel(self.ctx)  # type: ignore[arg-type]
        self.screens["report"].attach(self.report_vm)
        self._attach_roles()
        self.show(self.home_tab)

    def sign_out(self) -> None:
        assert self.ctx is not None
        sign_out(self.ctx)
        self.signin_vm.refresh()
        self.show("signin")
        self.update_sync_state()

    # --- sync -------------------------------------------------------------------------------

    def start_sync(self) -> None:
        """Start (or wake) the worker and follow its rounds; nothing happens when signed out."""
        if self.ctx is None or not self.signed_in:
            return
        self.ctx.start_sync()
        worker = self.ctx.worker
        if worker is not None and id(worker) not in self._workers:
            self._workers.add(id(worker))
            worker.subscribe(self._on_sync)

    def sync_started(self) -> None:
        """The user asked for a sync: show it at once; the round's outcome will follow."""
        self.syncing = True
        self.update_sync_state()

    def _on_sync(self, outcome: Any) -> None:
        """A sync round ended (main thread, via ``post_to_ui``)."""
        self.last_outcome = outcome
        self.syncing = False
        self.home_vm.on_sync(outcome)
        self.update_sync_state()
        self._refresh_visible()

    def _refresh_current(self, _dt: float = 0) -> None:
        screen = self.screens[self.shell.ids.manager.current]
        if screen.vm is not None and screen.name not in ("signin", "report"):
            screen.vm.refresh()  # the report form keeps the user's draft; the others reload

    def update_sync_state(self) -> None:
        """The sync dot and its words, from the last round and the outbox counts."""
        ctx = self.ctx
        if ctx is None:
            return
        store = ctx.store
        pending = store.unacknowledged()
        refused = store.count_outbox([OutboxStatus.REFUSED], undismissed=True)
        state = getattr(self.last_outcome, "state", None)
        if not self.signed_in:
            status, text = "offline", ""
        elif self.syncing or self.home_vm.syncing:
            status, text = "syncing", self.tr("sync.syncing")
        elif refused:
            status, text = "refused", self.tr("sync.refused", n=refused)
        elif state == "ok" and not pending:
            status, text = "online", self.tr("sync.online")
        elif pending:
            status, text = ("pending" if state == "ok" else "offline"), self.tr("sync.pending", n=pending)
        else:
            status, text = "offline", self.tr("sync.offline")
        self.sync_status, self.sync_label = status, text
        top = self.shell.ids.top
        top.sync_status, top.sync_text = status, text
        self._update_chrome(self.shell.ids.manager.current)
