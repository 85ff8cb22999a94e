"""Report a problem (反馈): category by domain, urgency, description, photos, location; then submit.

Exposes ``domains`` (``[(Domain, label)]``), ``domain`` (picked), ``categories`` (of the picked
domain: ``[CategoryChoice]`` with code, zh/en names and the label in the current language — large
touch targets are the screen's job), ``category`` (picked code), ``urgency`` (``Urgency``),
``description``, ``photos`` (SHA-256 list, kept on the phone), ``road_id``, ``roads``,
``location`` (``(lat, lon)`` or ``None``) with ``location_source`` (``"gps"``, ``"road"`` or
``""``), ``patrol_id`` (set when reporting from a patrol), ``nearby`` (``nearby_open_cases()``:
open cases of the same category within ``NEARBY_M`` metres, as ``(CaseRow, metres)``),
``can_submit``, ``error`` (translated), ``last_saved`` (the case just filed).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine import OPEN_STATES, Case, Domain, Rejection, Urgency, categories_in, label

from ..i18n import tr
from ..outbox import report
from ..photos import keep_photo
from ..profile import Road
from ..session import AppContext
from .base import ViewModel
from .common import CaseRow, case_row, case_sync_states, distance_m

__all__ = ["NEARBY_M", "CategoryChoice", "ReportViewModel"]

NEARBY_M = 100.0
_DEGREES_PER_M = 1 / 111_000  # a generous box for the SQL prefilter; haversine decides


@dataclass(frozen=True)
class CategoryChoice:
    code: str
    name_zh: str
    name_en: str
    major_zh: str
    major_en: str
    label: str


class ReportViewModel(ViewModel):
    def __init__(self, ctx: AppContext, *, patrol_id: str | None = None, road_id: str | None = None) -> None:
        super().__init__(ctx)
        self.patrol_id = patrol_id
        self.domain: Domain | None = None
        self.category: str | None = None
        self.urgency = Urgency.NORMAL
        self.description = ""
        self.photos: list[str] = []
        self.road_id = road_id or (self.roads[0].id if self.roads else None)
        self.location: tuple[float, float] | None = None
        self.location_source = ""
        self.nearby: list[tuple[CaseRow, float]] = []
        self.error = ""
        self.last_saved: Case | None = None
        self.use_gps() or self.use_road()

    # --- choices ------------------------------------------------------------------------------

    @property
    def domains(self) -> list[tuple[Domain, str]]:
        return [(d, label(d, self.lang)) for d in Domain]

    @property
    def categories(self) -> list[CategoryChoice]:
        if self.domain is None:
            return []
        return [
            CategoryChoice(
                c.code,
                c.name_zh,
                c.name_en,
                c.major_zh,
                c.major_en,
                c.name_en if self.lang == "en" else c.name_zh,
            )
            for c in categories_in(self.domain, self.ctx.reference.categories)
        ]

    @property
    def roads(self) -> list[Road]:
        profile, reference = self.ctx.profile, self.ctx.reference
        mine = [r for r in reference.roads if profile is not None and r.chief_id == profile.id]
        return mine + [r for r in reference.roads if r not in mine]

    def pick_domain(self, domain: Domain | str) -> None:
        self.domain, self.category = Domain(domain), None
        self.nearby = []
        self.changed()

    def pick_category(self, code: str) -> None:
        category = self.ctx.reference.categories.get(code)
        if category is not None:
            self.domain = category.domain
        self.category = code
        self.nearby = self.nearby_open_cases()
        self.changed()

    def set_urgency(self, urgency: Urgency | str) -> None:
        self.urgency = Urgency(urgency)
        self.changed()

    def set_description(self, text: str) -> None:
        self.description = text
        self.changed()

    def pick_road(self, road_id: str) -> None:
        self.road_id = road_id
        if self.location_source != "gps":
            self.use_road()
        self.changed()

    # --- photos and place ---------------------------------------------------------------------

    def add_photo(self, data: bytes) -> str | None:
        """Shrink and keep a photo on the phone; it uploads with the report."""
        try:
            sha = keep_photo(self.ctx.store, data, self.ctx.now())
        except OSError as exc:  # not an image Pillow can read, or the disk is full
            self.error = str(exc)
            self.changed()
            return None
        if sha not in self.photos:
            self.photos.append(sha)
        self.changed()
        return sha

    def remove_photo(self, sha: str) -> None:
        if sha in self.photos:
            self.photos.remove(sha)
            self.changed()

    def pick_photo(self) -> None:
        """Ask the platform for a photo; it arrives later through ``add_photo``."""
        self.ctx.services.pick_photo(self.add_photo)

    def use_gps(self) -> bool:
        fix = self.ctx.services.location()
        if fix is None:
            return False
        self.location, self.location_source = fix, "gps"
        self._location_changed()
        return True

    def use_road(self) -> bool:
        road = self.ctx.reference.road(self.road_id)
        point = road.middle if road else None
        if point is None:
            return False
        self.location, self.location_source = point, "road"
        self._location_changed()
        return True

    def _location_changed(self) -> None:
        if self.category:
            self.nearby = self.nearby_open_cases()
        self.changed()

    def nearby_open_cases(self, radius_m: float = NEARBY_M) -> list[tuple[CaseRow, float]]:
        """Open cases of the same category within ``radius_m``: maybe the same problem, nearest first."""
        if self.category is None or self.location is None:
            return []
        lat, lon = self.location
        box = radius_m * _DEGREES_PER_M * 2
        candidates = self.ctx.store.view_records(
            "case",
            states=[s.value for s in OPEN_STATES],
            category_code=self.category,
            where="lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?",
            params=[lat - box, lat + box, lon - box * 2, lon + box * 2],
        )
        sync = case_sync_states(self.ctx.store)
        now, reference = self.ctx.now(), self.ctx.reference
        found = []
        for case in candidates:
            if isinstance(case, Case) and case.location is not None:
                metres = distance_m(self.location, (case.location.lat, case.location.lon))
                if metres <= radius_m:
                    found.append((case_row(case, now, reference, self.lang, sync.get(case.id)), metres))
        return sorted(found, key=lambda pair: pair[1])

    # --- submit -------------------------------------------------------------------------------

    @property
    def can_submit(self) -> bool:
        return bool(self.category and self.road_id and (self.description.strip() or self.photos))

    def submit(self) -> Case | Rejection | None:
        """Save the report locally (view and outbox at once); sync picks it up in the background."""
        profile = self.ctx.profile
        if profile is None or not self.can_submit:
            self.error = tr("report.need_category", self.lang)
            self.changed()
            return None
        assert self.category is not None and self.road_id is not None
        result = report(
            self.ctx.store,
            profile,
            category=self.category,
            road_id=self.road_id,
            now=self.ctx.now(),
            description=self.description.strip(),
            urgency=self.urgency,
            photos=self.photos,
            location=self.location,
            patrol_id=self.patrol_id,
        )
        if isinstance(result, Rejection):
            self.error = result.message_en if self.lang == "en" else result.message_zh
            self.changed()
            return result
        self.last_saved, self.error = result, ""
        self.category, self.description, self.photos, self.nearby = None, "", [], []
        self.urgency = Urgency.NORMAL
        self.ctx.sync_now()
        self.changed()
        return result
