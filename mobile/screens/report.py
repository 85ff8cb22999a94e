"""Report a problem: domain → category (large targets), urgency, description, photos, location.

A report filed from a patrol belongs to it, and the app returns to the patrol afterwards. When an
open case of the same category is close by, a hint says so before a duplicate is filed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.factory import Factory
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.image import Image

from engine import Urgency, label

from ..i18n import capitalised
from ..widgets import theme
from ..widgets.common import ChoiceButton
from ..widgets.screen import RCScreen

__all__ = ["ReportScreen"]

Builder.load_file(str(Path(__file__).with_suffix(".kv")))

_DOMAIN_COLOURS = {
    "safety": theme.hex_rgba("#c62828"),
    "environment": theme.hex_rgba("#2e7d32"),
    "sanitation": theme.hex_rgba("#1565c0"),
    "order": theme.hex_rgba("#6a1b9a"),
}


class ReportScreen(RCScreen):
    """Binds to ``ReportViewModel`` (a fresh one per report; the app swaps it in)."""

    from_patrol = BooleanProperty(False)
    no_domain = BooleanProperty(True)
    category_text = StringProperty("")
    nearby_text = StringProperty("")
    photo_count = StringProperty("")
    location_text = StringProperty("")
    location_source = StringProperty("")
    road_name = StringProperty("")
    road_names = ListProperty()
    saved_text = StringProperty("")
    error = StringProperty("")
    can_submit = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._road_ids: dict[str, str] = {}
        self._drawn: tuple[Any, ...] = ()
        self._photos_drawn: tuple[str, ...] = ()

    # --- actions (each goes to the view-model, which announces the change) ----------------------

    def pick_domain(self, value: str) -> None:
        self.saved_text = ""
        self.vm.pick_domain(value)

    def pick_category(self, code: str) -> None:
        self.saved_text = ""
        self.vm.pick_category(code)

    def change_category(self) -> None:
        self.vm.category = None
        self.vm.nearby = []
        self.vm.changed()

    def set_urgency(self, value: str) -> None:
        self.vm.set_urgency(value)

    def set_description(self, text: str) -> None:
        if self.vm is not None and text != self.vm.description:
            self.vm.set_description(text)

    def add_photo(self) -> None:
        self.vm.pick_photo()

    def use_gps(self) -> None:
        self.vm.use_gps()
        self.refresh()  # no fix: the view-model says nothing, the toggle must still snap back

    def use_road(self) -> None:
        self.vm.use_road()
        self.refresh()

    def pick_road(self, name: str) -> None:
        road_id = self._road_ids.get(name)
        if self.vm is not None and road_id is not None and road_id != self.vm.road_id:
            self.vm.pick_road(road_id)

    def submit(self) -> None:
        result = self.vm.submit()
        if result is not None and self.vm.last_saved is result:
            self.saved_text = self.tr("report.saved")
            self.ids.description.text = ""
            self.app.report_filed(result)

    # --- drawing ------------------------------------------------------------------------------

    def render(self) -> None:
        vm, lang = self.vm, self.lang
        self.from_patrol = vm.patrol_id is not None
        self.no_domain = vm.domain is None
        key = (lang, vm.domain, vm.category, vm.urgency)
        if key != self._drawn:
            self._draw_choices(vm)
            self._drawn = key
        self.category_text = next((c.label for c in vm.categories if c.code == vm.category), "")
        if vm.category and not self.category_text:
            self.category_text = vm.category
        if vm.nearby:
            row, metres = vm.nearby[0]
            self.nearby_text = self.tr("report.nearby_hint", distance=int(metres), case=row.title)
        else:
            self.nearby_text = ""
        if vm.description != self.ids.description.text:
            self.ids.description.text = vm.description
        self._draw_photos(vm)
        self.photo_count = self.tr("report.photo_count", n=len(vm.photos)) if vm.photos else ""
        roads = vm.roads
        self._road_ids = {road.name: road.id for road in roads}
        self.road_names = [road.name for road in roads]
        self.road_name = next((r.name for r in roads if r.id == vm.road_id), "")
        self.location_source = vm.location_source
        self.ids.use_gps.state = "down" if vm.location_source == "gps" else "normal"
        self.ids.use_road.state = "down" if vm.location_source == "road" else "normal"
        if vm.location is None:
            self.location_text = self.tr("report.location_none")
        elif vm.location_source == "road":
            self.location_text = self.tr("report.location_road", road=self.road_name)
        else:
            lat, lon = vm.location
            self.location_text = self.tr("report.location_gps", lat=f"{lat:.5f}", lon=f"{lon:.5f}")
        self.error = vm.error
        self.can_submit = vm.can_submit

    def _draw_choices(self, vm: Any) -> None:
        domains = self.ids.domains
        domains.clear_widgets()
        for domain, text in vm.domains:
            colour = _DOMAIN_COLOURS.get(domain.value, theme.PRIMARY)
            button = ChoiceButton(
                text=capitalised(text, self.lang), value=domain.value, height=dp(58), font_size="18sp"
            )
            button.fill_on = button.edge_on = colour
            button.state = "down" if vm.domain == domain else "normal"
            button.bind(on_release=lambda b: self.pick_domain(b.value))
            domains.add_widget(button)
        grid = self.ids.categories
        grid.clear_widgets()
        if vm.category is None:
            for choice in vm.categories:
                button = Factory.CategoryButton(text=choice.label, value=choice.code)
                button.bind(on_release=lambda b: self.pick_category(b.value))
                grid.add_widget(button)
        urgencies = self.ids.urgencies
        urgencies.clear_widgets()
        for urgency in Urgency:
            button = ChoiceButton(text=capitalised(label(urgency, self.lang), self.lang), value=urgency.value)
            if urgency is Urgency.URGENT:
                button.fill_on = button.edge_on = theme.DANGER
            button.state = "down" if vm.urgency == urgency else "normal"
            button.bind(on_release=lambda b: self.set_urgency(b.value))
            urgencies.add_widget(button)

    def _draw_photos(self, vm: Any) -> None:
        shas = tuple(vm.photos)
        if shas == self._photos_drawn:
            return
        self._photos_drawn = shas
        box = self.ids.photos
        for child in [c for c in box.children if isinstance(c, Image)]:
            box.remove_widget(child)
        for sha in shas[-3:]:
            row = vm.ctx.store.photo(sha)
            if row is not None:
                box.add_widget(
                    Image(source=row.path, size_hint=(None, None), size=(dp(80), dp(80)), fit_mode="cover")
                )
