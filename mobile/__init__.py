"""The field app's core, without Kivy: local store, outbox, sync, photos, services, view-models.

The screens (``mobile/screens``), widgets and the app shell sit on top of this and are the only
parts that import Kivy. Everything here runs in tests without a window.
"""

from __future__ import annotations

from .credentials import Credentials, CredentialStore
from .outbox import (
    EXPORT_FORMAT,
    end_patrol,
    export_unsent,
    new_case_id,
    record_action,
    record_points,
    report,
    start_patrol,
)
from .photos import JPEG_QUALITY, MAX_SIDE, keep_photo, photo_bytes, shrink
from .profile import Reference, Road, UserProfile
from .services import AndroidServices, DesktopServices, PlatformServices, is_android, make_services
from .session import AppContext, PendingWork, complete_sign_in, login, open_app, sign_out
from .store import SCHEMA_VERSION, LocalStore, OutboxItem, OutboxStatus, PhotoRow
from .sync import SignedOut, SyncClient, SyncError, SyncRefused, SyncReport, SyncUnavailable
from .view import apply_pull, rebuild_view
from .worker import SyncOutcome, SyncWorker, backoff_delay

__all__ = [
    "EXPORT_FORMAT",
    "JPEG_QUALITY",
    "MAX_SIDE",
    "SCHEMA_VERSION",
    "AndroidServices",
    "AppContext",
    "CredentialStore",
    "Credentials",
    "DesktopServices",
    "LocalStore",
    "OutboxItem",
    "OutboxStatus",
    "PendingWork",
    "PhotoRow",
    "PlatformServices",
    "Reference",
    "Road",
    "SignedOut",
    "SyncClient",
    "SyncError",
    "SyncOutcome",
    "SyncRefused",
    "SyncReport",
    "SyncUnavailable",
    "SyncWorker",
    "UserProfile",
    "apply_pull",
    "backoff_delay",
    "complete_sign_in",
    "end_patrol",
    "export_unsent",
    "is_android",
    "keep_photo",
    "login",
    "make_services",
    "new_case_id",
    "open_app",
    "photo_bytes",
    "rebuild_view",
    "record_action",
    "record_points",
    "report",
    "shrink",
    "sign_out",
    "start_patrol",
]
