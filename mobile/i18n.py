"""The app's translation table: every UI string in Chinese (the default) and English.

Domain words (steps, states, triggers, roles, urgencies, domains) are not repeated here: they come
from ``engine.labels``, the one table of the loop's words, through ``word()``. Category names come
from the engine's category table through ``category_name()``. Plain Python, no Kivy: tests and
view-models read it without a window, and ``tests/mobile/test_font.py`` checks that every character
here is in the bundled font.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from engine import LABELS, Category, label

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "STRINGS",
    "all_texts",
    "capitalised",
    "category_name",
    "major_name",
    "tr",
    "word",
]

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

# key -> (中文, English). Keys are dotted: <screen or widget>.<what>.
STRINGS: dict[str, tuple[str, str]] = {
    # the app and its shell
    "app.name": ("路长制", "Road Chief"),
    "app.tagline": (
        "巡查 · 反馈 · 协调 · 处置 · 督察",
        "Patrol · Feedback · Coordination · Disposal · Supervision",
    ),
    "lang.toggle": ("English", "中文"),
    "nav.home": ("首页", "Home"),
    "nav.patrol": ("巡查", "Patrol"),
    "nav.report": ("上报", "Report"),
    "nav.cases": ("我的案件", "My cases"),
    "nav.outbox": ("待同步", "Outbox"),
    "action.back": ("返回", "Back"),
    "action.cancel": ("取消", "Cancel"),
    "action.confirm": ("确定", "OK"),
    "action.sync_now": ("立即同步", "Sync now"),
    "action.sign_out": ("退出登录", "Sign out"),
    # sync state (the dot in the top bar and the home card)
    "sync.title": ("同步状态", "Sync"),
    "sync.online": ("已同步", "Up to date"),
    "sync.offline": ("离线", "Offline"),
    "sync.syncing": ("同步中…", "Syncing…"),
    "sync.pending": ("待上传 {n} 条", "{n} waiting to upload"),
    "sync.refused": ("{n} 条被退回", "{n} refused"),
    "sync.never": ("尚未同步", "Never synced"),
    "sync.last": ("上次同步 {time}", "Last sync {time}"),
    "sync.error": ("同步失败：{reason}", "Sync failed: {reason}"),
    # sign in
    "signin.title": ("登录", "Sign in"),
    "signin.server": ("服务器地址", "Server"),
    "signin.server_hint": ("例如 https://rc.example.cn", "e.g. https://rc.example.cn"),
    "signin.user": ("用户名", "User name"),
    "signin.password": ("密码", "Password"),
    "signin.submit": ("登录", "Sign in"),
    "signin.working": ("正在登录…", "Signing in…"),
    "signin.offline_note": (
        "无网络时也可使用上次登录的账号继续工作，联网后自动同步。",
        "Without a network you can keep working as the last signed-in user; work syncs when online.",
    ),
    "signin.continue_offline": ("离线继续（{user}）", "Continue offline ({user})"),
    "signin.missing": ("请填写服务器地址、用户名和密码", "Enter the server, user name and password"),
    "signin.failed": ("登录失败：{reason}", "Sign-in failed: {reason}"),
    # home
    "home.title": ("首页", "Home"),
    "home.greeting": ("{name}，您好", "Hello, {name}"),
    "home.my_roads": ("我的道路", "My roads"),
    "home.no_roads": ("暂无分配的道路", "No roads assigned yet"),
    "home.my_open": ("我的在办案件", "My open cases"),
    "home.by_step": ("按环节", "By step"),
    "home.overdue": ("已超期 {n} 件", "{n} overdue"),
    "home.none_overdue": ("无超期案件", "Nothing overdue"),
    "home.open_total": ("在办 {n} 件", "{n} open"),
    "home.start_patrol": ("开始巡查", "Start a patrol"),
    "home.quick_report": ("快速上报", "Quick report"),
    "home.patrols_today": ("今日巡查 {n} 次", "{n} patrols today"),
    # patrol
    "patrol.title": ("巡查", "Patrol"),
    "patrol.road": ("巡查道路", "Road"),
    "patrol.pick_road": ("选择道路", "Pick a road"),
    "patrol.status": ("状态", "Status"),
    "patrol.elapsed": ("用时", "Time"),
    "patrol.points": ("轨迹点", "Track points"),
    "patrol.distance": ("里程", "Distance"),
    "patrol.found": ("发现问题", "Problems found"),
    "patrol.gps": ("当前位置", "Position"),
    "patrol.no_gps": ("等待定位…", "Waiting for GPS…"),
    "patrol.report_problem": ("上报问题", "Report a problem"),
    "patrol.nothing_found_note": (
        "未发现问题也请结束巡查，巡查记录同样会保存并上传。",
        "End the patrol even if nothing was found: the patrol itself is saved and uploaded.",
    ),
    "patrol.saved": ("巡查记录已保存：{result}", "Patrol saved: {result}"),
    "patrol.nothing_found": ("未发现问题", "nothing found"),
    "patrol.found_n": ("发现 {n} 个问题", "{n} problem(s) found"),
    "patrol.recent_row": (
        "{when} · 用时 {duration} · {points} 个轨迹点",
        "{when} · {duration} · {points} points",
    ),
    "patrol.recent": ("最近巡查", "Recent patrols"),
    "patrol.none_recent": ("暂无巡查记录", "No patrols yet"),
    # report
    "report.title": ("上报问题", "Report a problem"),
    "report.domain": ("问题领域", "Domain"),
    "report.category": ("问题类别", "Category"),
    "report.change_category": ("重选", "Change"),
    "report.pick_domain_first": ("请先选择问题领域", "Pick a domain first"),
    "report.urgency": ("紧急程度", "Urgency"),
    "report.description": ("问题描述", "Description"),
    "report.description_hint": ("简要说明看到的问题和具体位置", "What you saw and exactly where"),
    "report.photos": ("现场照片", "Photos"),
    "report.add_photo": ("拍照 / 添加", "Add photo"),
    "report.photo_count": ("{n} 张", "{n} photo(s)"),
    "report.location": ("位置", "Location"),
    "report.use_gps": ("使用定位", "Use GPS"),
    "report.use_road": ("使用道路", "Use the road"),
    "report.location_gps": ("定位 {lat}, {lon}", "GPS {lat}, {lon}"),
    "report.location_road": ("道路：{road}", "Road: {road}"),
    "report.location_none": ("尚无位置", "No location yet"),
    "report.nearby_hint": (
        "附近{distance}米处已有同类未结案件「{case}」。如是同一问题，请在该案件中补充照片，无需重复上报。",
        "An open case of the same category is {distance} m away: {case}. "
        "If it is the same problem, add photos to it instead of reporting again.",
    ),
    "report.from_patrol": (
        "巡查中上报：计入本次巡查的发现",
        "Filed during the patrol: counts as one of its findings",
    ),
    "report.submit": ("提交上报", "Submit"),
    "report.saved": ("已保存，将自动上传", "Saved; it will upload automatically"),
    "report.need_category": ("请先选择问题类别", "Pick a category first"),
    # cases
    "cases.title": ("我的案件", "My cases"),
    "cases.empty": ("暂无案件", "No cases"),
    "cases.filter_open": ("在办", "Open"),
    "cases.filter_all": ("全部", "All"),
    "cases.filter_overdue": ("超期", "Overdue"),
    "cases.count": ("共 {n} 件", "{n} cases"),
    # case detail
    "case.title": ("案件详情", "Case"),
    "case.state": ("当前状态", "State"),
    "case.category": ("类别", "Category"),
    "case.road": ("道路", "Road"),
    "case.reported": ("上报时间", "Reported"),
    "case.due": ("处置时限", "Deadline"),
    "case.overdue_by": ("已超期 {time}", "Overdue by {time}"),
    "case.due_in": ("剩余 {time}", "{time} left"),
    "case.no_due": ("未派遣", "Not dispatched"),
    "case.description": ("描述", "Description"),
    "case.photos_before": ("处置前照片", "Before"),
    "case.photos_after": ("处置后照片", "After"),
    "case.timeline": ("办理过程", "Timeline"),
    "case.actions": ("可执行操作", "Actions"),
    "case.no_actions": ("当前环节无需您操作", "Nothing for you to do at this step"),
    "case.refused": ("服务器已退回", "Refused by the server"),
    "case.note_hint": ("填写说明（可选）", "Note (optional)"),
    "case.rework": ("返工 {n} 次", "Rework ×{n}"),
    "case.pending": ("本地修改待上传", "Local change waiting to upload"),
    "case.department": ("处置部门", "Department"),
    "case.dismiss": ("知道了", "Dismiss"),
    "case.refused_action": ("「{what}」未被接受", "'{what}' was not accepted"),
    "case.pick_department": ("选择处置部门", "Pick a department"),
    "case.photos_added": ("已附 {n} 张照片", "{n} photo(s) attached"),
    "case.not_found": ("案件不在本机", "This case is not on this phone"),
    # outbox
    "outbox.title": ("待同步", "Outbox"),
    "outbox.empty": ("没有待上传的内容", "Nothing waiting to upload"),
    "outbox.export": ("导出未发送记录", "Export unsent work"),
    "outbox.exported": ("已导出到 {path}", "Exported to {path}"),
    "outbox.export_none": ("没有未发送的记录", "No unsent work to export"),
    "outbox.reason": ("退回原因：{reason}", "Reason: {reason}"),
    "outbox.summary": (
        "待发送 {pending} · 已确认 {done} · 被退回 {refused}",
        "Pending {pending} · done {done} · refused {refused}",
    ),
    "outbox.state.saved": ("已保存", "saved"),
    "outbox.state.queued": ("排队中", "queued"),
    "outbox.state.sent": ("已发送", "sent"),
    "outbox.state.acknowledged": ("已确认", "acknowledged"),
    "outbox.state.refused": ("被退回", "refused"),
    # units and small words
    "unit.minutes": ("{n} 分钟", "{n} min"),
    "unit.hours": ("{n} 小时", "{n} h"),
    "unit.days": ("{n} 天", "{n} d"),
    "unit.metres": ("{n} 米", "{n} m"),
    "unit.km": ("{n} 公里", "{n} km"),
    "word.me": ("我", "me"),
    "word.none": ("无", "none"),
    "word.unknown_road": ("未指定道路", "No road"),
}

# --- view-model strings ---
# Keys the view-models in mobile/viewmodels/ hand to the screens. Append here, same shape as above.
VIEWMODEL_STRINGS: dict[str, tuple[str, str]] = {
    # a case with nothing left in the outbox (CaseRow.sync_state == "synced")
    "outbox.state.synced": ("已同步", "synced"),
    # SignInViewModel: a previous user's unsent work blocks a different user's sign-in
    "signin.pending_work": (
        "上一位用户还有 {n} 条未上传，请先导出再登录",
        "The previous user has {n} actions not yet uploaded; export them before signing in",
    ),
}
STRINGS.update(VIEWMODEL_STRINGS)
# --- end of view-model strings ---


def tr(key: str, language: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The UI string ``key`` in ``language`` with ``{name}`` fields filled; the key itself if unknown.

    An unknown key shows up on screen as its key, which a screenshot review catches, rather than
    raising in the middle of a redraw.
    """
    pair = STRINGS.get(key)
    if pair is None:
        return key
    text = pair[1] if language == "en" else pair[0]
    return text.format(**values) if values else text


def word(value: StrEnum, language: str = DEFAULT_LANGUAGE) -> str:
    """A domain word (step, state, trigger, role, urgency, domain) from the engine's one table."""
    return label(value, language)


def capitalised(text: str, language: str = DEFAULT_LANGUAGE) -> str:
    """English labels start lower-case to sit inside sentences; on a button or chip, capitalise."""
    return text[:1].upper() + text[1:] if language == "en" else text


def category_name(category: Category, language: str = DEFAULT_LANGUAGE) -> str:
    """A category's minor-class name (小类) in ``language``."""
    return category.name_en if language == "en" else category.name_zh


def major_name(category: Category, language: str = DEFAULT_LANGUAGE) -> str:
    """A category's major-class name (大类) in ``language``."""
    return category.major_en if language == "en" else category.major_zh


def all_texts() -> Iterator[str]:
    """Every string the app can show from its tables, both languages: for the font coverage test."""
    for zh, en in STRINGS.values():
        yield zh
        yield en
    for zh, en in LABELS.values():
        yield zh
        yield en

# --- roles strings ---
# The coordinator's, handler's and supervisor's queues, the overview and settings (issue 6).
ROLES_STRINGS: dict[str, tuple[str, str]] = {
    # bottom navigation by role
    "nav.coordinator": ("协调队列", "Coordinate"),
    "nav.handler": ("处置队列", "Dispose"),
    "nav.supervisor": ("督察队列", "Supervise"),
    "nav.overview": ("概览", "Overview"),
    "nav.settings": ("设置", "Settings"),
    # what the desk screens share
    "roles.queue_count": ("共 {n} 件", "{n} cases"),
    "roles.overdue_count": ("超期 {n} 件", "{n} overdue"),
    "roles.queue_empty": ("队列已清空", "Nothing waiting"),
    "roles.done": ("已{what}", "Done: {what}"),
    "roles.waiting": ("已等待 {time}", "waiting {time}"),
    "roles.reported_ago": ("上报于 {time}，已 {age}", "Reported {time}, {age} ago"),
    "roles.due_left": ("处置时限 {time}，剩余 {left}", "Due {time}, {left} left"),
    "roles.due_overdue": ("处置时限 {time}，已超期 {late}", "Due {time}, overdue by {late}"),
    "roles.place": ("{road}  ·  {community}社区", "{road}  ·  {community} community"),
    "roles.urgent": ("紧急", "Urgent"),
    "roles.escalated": ("已吹哨", "Escalated"),
    "roles.completed_late": ("超期完成", "Fixed late"),
    "roles.now_state": ("案件现状：{state}", "The case is now: {state}"),
    "roles.step_times": ("各环节用时", "Time per step"),
    "roles.current_step": ("进行中", "current"),
    "roles.full_record": ("查看完整办理过程", "Full timeline"),
    "roles.photo_loading": ("照片下载中…", "Downloading…"),
    "roles.photo_failed": ("照片暂无法获取", "Photo unavailable"),
    "roles.no_position": ("无定位", "No position"),
    # the coordinator
    "coordinator.title": ("协调队列", "Coordination"),
    "coordinator.case_title": ("协调派遣", "Coordinate"),
    "coordinator.dispatch_title": ("派遣到部门", "Dispatch to a department"),
    "coordinator.due_suggested": (
        "按问题类别与紧急程度建议的时限；只能提前，不能延后",
        "Suggested by category and urgency; it may be shortened, never extended",
    ),
    "coordinator.due_changed": ("已调整（建议时限 {time}）", "Changed (suggested {time})"),
    "coordinator.minus_day": ("-1 天", "-1 d"),
    "coordinator.minus_hour": ("-1 小时", "-1 h"),
    "coordinator.plus_hour": ("+1 小时", "+1 h"),
    "coordinator.suggested": ("建议", "Suggested"),
    "coordinator.dispatch": ("派遣", "Dispatch"),
    "coordinator.merge_title": ("合并到附近案件", "Merge into a nearby case"),
    "coordinator.nearby_count": ("附近 {n} 件", "{n} nearby"),
    "coordinator.no_nearby": (
        "同一道路或 200 米内没有其他未结案件",
        "No other open case on this road or within 200 m",
    ),
    "coordinator.same_road": ("同一道路", "same road"),
    "coordinator.merge_into": ("合并", "Merge"),
    "coordinator.other_title": ("街道吹哨或作废", "Escalate or cancel"),
    "coordinator.reason_hint": ("填写原因（吹哨、作废必填）", "Reason (needed to escalate or cancel)"),
    "coordinator.escalate": ("街道吹哨", "Escalate to street"),
    "coordinator.cancel": ("作废", "Cancel"),
    # the handler
    "handler.title": ("处置队列", "Disposal"),
    "handler.case_title": ("处置案件", "Dispose"),
    "handler.accept": ("接收案件", "Accept"),
    "handler.accept_first": ("请先接收案件，再填写处置结果", "Accept the case before reporting the result"),
    "handler.result_title": ("处置结果", "Result"),
    "handler.note_hint": ("处置结果说明（必填）", "What was done (required)"),
    "handler.add_photo": ("拍摄处置后照片", "Take an 'after' photo"),
    "handler.photo_needed": ("需要至少一张处置后照片", "At least one 'after' photo"),
    "handler.need_photo": ("请先拍摄处置后照片", "Take an 'after' photo first"),
    "handler.complete": ("处置完成", "Complete"),
    "handler.return_title": ("不属于本部门", "Not ours"),
    "handler.return_hint": ("退回原因（必填）", "Why it is not ours (required)"),
    "handler.return": ("退回协调", "Return to coordinator"),
    # the supervisor
    "supervisor.title": ("督察队列", "Supervision"),
    "supervisor.case_title": ("督察核查", "Verify"),
    "supervisor.compare_title": ("处置前后对比", "Before and after"),
    "supervisor.before": ("处置前", "Before"),
    "supervisor.after": ("处置后", "After"),
    "supervisor.no_photo": ("无照片", "No photo"),
    "supervisor.taken_at": ("拍摄于 {time}", "Taken {time}"),
    "supervisor.result_note": ("处置说明：{note}", "Result: {note}"),
    "supervisor.moved": ("前后拍摄位置相距 {n} 米", "Taken {n} m apart"),
    "supervisor.verdict_title": ("核查结论", "Verdict"),
    "supervisor.verdict_hint": ("核查意见；返工时必须填写原因", "Note; a reason is required for rework"),
    "supervisor.approve": ("核查通过", "Approve"),
    "supervisor.reject": ("返工", "Rework"),
    # the overview
    "overview.title": ("概览", "Overview"),
    "overview.by_step": ("在办案件（按环节）", "Open cases by step"),
    "overview.overdue": ("超期", "Overdue"),
    "overview.reworked": ("返工", "Rework"),
    "overview.closed": ("已结案", "Closed"),
    "overview.by_department": ("按部门", "By department"),
    "overview.department": ("部门", "Department"),
    "overview.open": ("在办", "Open"),
    "overview.no_departments": ("暂无派遣到部门的案件", "No cases with a department yet"),
    # settings
    "settings.title": ("设置", "Settings"),
    "settings.language": ("语言 / Language", "Language / 语言"),
    "settings.server": ("服务器", "Server"),
    "settings.server_note": (
        "更换服务器在下次登录时生效；未上传的操作仍发往原服务器。",
        "A new server applies at the next sign-in; unsent work still goes to the current one.",
    ),
    "settings.save_server": ("保存服务器地址", "Save server"),
    "settings.signed_in_server": ("当前服务器：{url}", "Signed in to {url}"),
    "settings.device": ("设备编号：{id}", "Device: {id}"),
    "settings.account": ("账号", "Account"),
    "settings.nothing_pending": ("所有操作均已上传", "Everything is uploaded"),
    "settings.keep_signed_in": ("暂不退出", "Stay signed in"),
    "settings.confirm_sign_out": ("确认退出（保留未上传操作）", "Sign out (keep unsent work)"),
    "settings.server_invalid": (
        "服务器地址应以 http:// 或 https:// 开头",
        "The server must start with http:// or https://",
    ),
    "settings.server_saved": ("服务器地址已保存", "Server saved"),
    "settings.server_next": (
        "新的服务器地址将在下次登录时使用",
        "The new server is used at the next sign-in",
    ),
    "settings.exported": ("已导出 {n} 条未上传记录到 {path}", "Exported {n} unsent actions to {path}"),
    "settings.pending_warning": (
        "还有{n}条操作未上传。退出后它们仍保留在本机，您再次登录后自动上传；"
        "也可先导出到文件。再次点击即确认退出。",
        "{n} actions are not uploaded yet. They stay on this phone after you sign out and upload when you "
        "sign in again; you can also export them first. Tap again to confirm.",
    ),
    "settings.signed_out_kept": (
        "已退出。{n}条未上传的操作保留在本机，再次登录后自动上传。",
        "Signed out. {n} unsent actions are kept on this phone and upload when you sign in again.",
    ),
}
STRINGS.update(ROLES_STRINGS)
# --- end of roles strings ---
