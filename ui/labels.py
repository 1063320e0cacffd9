"""Japanese labels the UI shows for codes: roles, flash levels, error pages.

One place for the words, so a page and its problem+json twin never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

# Keycloak client roles of kyosei-web (core.auth.principal.Role), in the order a header lists them.
ROLE_LABELS: dict[str, str] = {
    "staff": "職員",
    "coordinator": "包括化推進員・コーディネーター",
    "tenant-admin": "団体管理者",
    "prefecture-admin": "県管理者",
    "auditor": "監査担当",
    "vendor": "事業者（プラグイン開発）",
}


def role_names(roles: Iterable[str] | None) -> list[str]:
    """Japanese names of a user's roles in a stable order; roles we have no word for (a plugin's) keep their code."""
    held = {str(r) for r in roles or ()}
    known = [label for code, label in ROLE_LABELS.items() if code in held]
    return known + sorted(held - ROLE_LABELS.keys())


# Flash levels: the word is read out by screen readers so colour is never the only signal.
FLASH_LEVELS: dict[str, str] = {
    "info": "お知らせ",
    "success": "完了",
    "warning": "注意",
    "error": "エラー",
}


class ErrorText(NamedTuple):
    title: str
    message: str


ERROR_TEXTS: dict[int, ErrorText] = {
    400: ErrorText("リクエストが正しくありません", "入力内容に誤りがあります。内容を確認して、もう一度お試しください。"),
    401: ErrorText("ログインが必要です", "この画面を表示するにはログインしてください。"),
    403: ErrorText("この操作を行う権限がありません", "必要な権限がない場合は、団体管理者にお問い合わせください。"),
    404: ErrorText("ページが見つかりません", "お探しのページは移動または削除されたか、URLが間違っている可能性があります。"),
    405: ErrorText("この操作はできません", "このページでは、その方法での操作を受け付けていません。"),
    409: ErrorText("他の操作と競合しました", "ほかの方が同じ情報を更新した可能性があります。画面を読み込み直して、もう一度お試しください。"),
    413: ErrorText("送信された内容が大きすぎます", "ファイルや入力内容を小さくして、もう一度お試しください。"),
    422: ErrorText("入力内容を処理できません", "入力内容を確認して、もう一度お試しください。"),
    429: ErrorText("操作が集中しています", "しばらく時間をおいてから、もう一度お試しください。"),
    500: ErrorText("システムエラーが発生しました", "お手数ですが、時間をおいてもう一度お試しください。解決しない場合は、下記の受付番号を添えてサポートにご連絡ください。"),
    503: ErrorText("サービスを一時的に利用できません", "しばらく時間をおいてから、もう一度お試しください。"),
}

AUTH_SERVER_UNAVAILABLE = ErrorText(
    "ただいま認証サーバーに接続できません",
    "ログインに必要な認証サーバーが応答していません。しばらく時間をおいてから、もう一度お試しください。",
)


def error_text(status_code: int) -> ErrorText:
    """The words for a status; unlisted 4xx read as 400 and unlisted 5xx as 500."""
    if status_code in ERROR_TEXTS:
        return ERROR_TEXTS[status_code]
    return ERROR_TEXTS[400] if 400 <= status_code < 500 else ERROR_TEXTS[500]
