"""Shared widgets: cards, big buttons, step chips, the sync dot, the top bar and bottom navigation.

Their look lives in ``common.kv`` beside this file, loaded once by ``mobile.widgets.load_kv``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.metrics import dp
from kivy.properties import BooleanProperty, ColorProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior, ToggleButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.spinner import Spinner, SpinnerOption
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget

from . import theme

__all__ = [
    "BarButton",
    "BottomNav",
    "Card",
    "ChoiceButton",
    "DangerButton",
    "Divider",
    "Field",
    "HintBox",
    "MutedLabel",
    "NavButton",
    "Picker",
    "PickerOption",
    "PrimaryButton",
    "RefusalBox",
    "RoundButton",
    "SectionTitle",
    "Shell",
    "StepChip",
    "SyncDot",
    "Tag",
    "TextLabel",
    "TopBar",
]


class TextLabel(Label):
    """A left-aligned label that wraps to its width and grows to its text's height."""


class MutedLabel(TextLabel):
    """Secondary text: smaller and grey."""


class SectionTitle(Label):
    """The small grey heading above a card."""


class Card(BoxLayout):
    """A white rounded panel; ``fill`` and ``edge`` recolour it (a step colour, a red warning)."""

    fill = ColorProperty(theme.CARD)
    edge = ColorProperty(theme.BORDER)


class RoundButton(ButtonBehavior, Label):
    """A big rounded button (≥ 48 dp high): white with a border unless a subclass fills it."""

    fill = ColorProperty(theme.CARD)
    fill_down = ColorProperty(theme.ACCENT)
    edge = ColorProperty(theme.BORDER)
    fg = ColorProperty(theme.PRIMARY)
    radius = NumericProperty(8)


class PrimaryButton(RoundButton):
    """The screen's main action, filled blue."""


class DangerButton(RoundButton):
    """An action that ends something (end a patrol), filled red."""


class ChoiceButton(ToggleButtonBehavior, RoundButton):
    """One option of a group (domain, category, urgency): filled when chosen.

    ``value`` is what the option stands for; ``fill_on`` is its colour when chosen.
    """

    value = StringProperty("")
    fill_on = ColorProperty(theme.PRIMARY)
    edge_on = ColorProperty(theme.PRIMARY)


class StepChip(Label):
    """A step's name on the step's colour (the colours of docs/loop.png).

    It sizes itself to its text, up to ``max_width``; a longer text (English state names) is
    shortened with an ellipsis rather than pushing the case title off the row.
    """

    step = StringProperty("patrol")
    max_width = NumericProperty(10_000)

    def on_kv_post(self, base_widget: Any) -> None:
        self.bind(text=self._fit, max_width=self._fit, font_size=self._fit)
        self._fit()

    def _fit(self, *_args: Any) -> None:
        pad = dp(18)
        natural = self._label.get_extents(self.text)[0] if self.text else 0
        if natural + pad > self.max_width:
            self.shorten, self.text_size = True, (self.max_width - pad, None)
        else:
            self.shorten, self.text_size = False, (None, None)


class Tag(Label):
    """A small coloured tag: 紧急, 已超期, a sync state."""

    fill = ColorProperty(theme.ACCENT)
    fg = ColorProperty(theme.PRIMARY)


class SyncDot(Widget):
    """The coloured sync dot: ``online``, ``pending``, ``syncing``, ``offline`` or ``refused``."""

    status = StringProperty("offline")


class RefusalBox(BoxLayout):
    """The server's reason for refusing an action, in a red box next to the case."""

    title = StringProperty("")
    text = StringProperty("")

    @classmethod
    def with_dismiss(
        cls, title: str, text: str, dismiss_label: str, on_dismiss: Callable[[], None]
    ) -> RefusalBox:
        """A refusal box with a "dismiss" button at its foot, as every case screen shows it."""
        box = cls(title=title, text=text)
        button = RoundButton(
            text=dismiss_label,
            size_hint_x=None,
            width=dp(96),
            height=dp(44),
            fg=theme.DANGER,
            edge=theme.DANGER,
            font_size="15sp",
        )
        button.bind(on_release=lambda _button: on_dismiss())
        line = BoxLayout(size_hint_y=None, height=dp(44))
        line.add_widget(BoxLayout())  # pushes the button to the right
        line.add_widget(button)
        box.add_widget(line)
        return box


class HintBox(BoxLayout):
    """A note in a coloured box: amber by default (an open case of the same category close by)."""

    text = StringProperty("")
    fill = ColorProperty(theme.hex_rgba("#fff4d6"))
    edge = ColorProperty(theme.WARN)
    fg = ColorProperty(theme.hex_rgba("#6b4a00"))


class Field(TextInput):
    """A single-line input, 52 dp high."""


class Picker(Spinner):
    """A drop-down of choices (a road, a department), 52 dp high, styled like a field."""


class PickerOption(SpinnerOption):
    """One row of a ``Picker``'s drop-down."""


class Divider(Widget):
    """A hairline between rows."""


class BarButton(ButtonBehavior, Label):
    """A flat button on the blue top bar."""


class TopBar(BoxLayout):
    """Title, back button, sync dot with its words, and the 中文/English toggle.

    Events: ``on_back`` and ``on_language``; the app handles both.
    """

    title = StringProperty("")
    can_go_back = BooleanProperty(False)
    sync_status = StringProperty("offline")
    sync_text = StringProperty("")
    lang_text = StringProperty("English")
    show_sync = BooleanProperty(True)

    __events__ = ("on_back", "on_language")

    def on_back(self, *args: Any) -> None:
        """Default handler: nothing."""

    def on_language(self, *args: Any) -> None:
        """Default handler: nothing."""


class NavButton(ButtonBehavior, Label):
    """One tab of the bottom navigation; ``badge`` shows a red dot (refused work in the outbox)."""

    target = StringProperty("")
    active = BooleanProperty(False)
    badge = BooleanProperty(False)


class BottomNav(BoxLayout):
    """The five tabs: 首页 / 巡查 / 上报 / 我的案件 / 待同步. ``current`` highlights one."""

    current = StringProperty("home")
    tabs = ListProperty()

    __events__ = ("on_tab",)

    def set_tabs(self, tabs: list[tuple[str, str]], badges: frozenset[str] = frozenset()) -> None:
        """(Re)label the tabs: ``[(screen name, text), ...]``; keeps one button per tab."""
        if [b.target for b in self.children[::-1]] != [name for name, _ in tabs]:
            self.clear_widgets()
            for name, _ in tabs:
                button = NavButton(target=name)
                button.bind(on_release=lambda b: self.dispatch("on_tab", b.target))
                self.add_widget(button)
        for button, (name, text) in zip(self.children[::-1], tabs, strict=True):
            button.text = text
            button.active = name == self.current
            button.badge = name in badges

    def on_current(self, _instance: BottomNav, value: str) -> None:
        for button in self.children:
            button.active = button.target == value

    def on_tab(self, name: str) -> None:
        """Default handler: nothing; the app switches screens."""


class Shell(BoxLayout):
    """The app's frame: top bar, the screens, bottom navigation (hidden on sign-in)."""

    show_nav = BooleanProperty(True)
