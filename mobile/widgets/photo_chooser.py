"""The desktop stand-in for the camera: a file chooser in a popup, filtered to images.

``DesktopServices(chooser=open_photo_chooser)`` calls it; the chosen file's bytes go to the
callback on the UI thread. Cancelling calls nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.filechooser import FileChooserListView
from kivy.uix.popup import Popup

from .. import i18n
from . import theme
from .common import PrimaryButton, RoundButton

__all__ = ["open_photo_chooser"]

_PATTERNS = ["*.jpg", "*.jpeg", "*.png", "*.JPG", "*.JPEG", "*.PNG"]


def open_photo_chooser(on_chosen: Callable[[bytes], None], lang: str = i18n.DEFAULT_LANGUAGE) -> Popup:
    """Open the chooser at the user's home directory; returns the popup (tests dismiss it)."""
    chooser = FileChooserListView(path=str(Path.home()), filters=_PATTERNS)
    buttons = BoxLayout(size_hint_y=None, height=dp(theme.TOUCH), spacing=dp(8))
    cancel = RoundButton(text=i18n.tr("action.cancel", lang))
    ok = PrimaryButton(text=i18n.tr("action.confirm", lang))
    buttons.add_widget(cancel)
    buttons.add_widget(ok)
    body = BoxLayout(orientation="vertical", spacing=dp(8))
    body.add_widget(chooser)
    body.add_widget(buttons)
    popup = Popup(title=i18n.tr("report.add_photo", lang), content=body, size_hint=(0.95, 0.9))

    def choose(*_args: object) -> None:
        if chooser.selection:
            data = Path(chooser.selection[0]).read_bytes()
            popup.dismiss()
            on_chosen(data)

    ok.bind(on_release=choose)
    cancel.bind(on_release=lambda *_: popup.dismiss())
    popup.open()
    return popup
