"""How the audit trail reads to a person: each kind of event and the usual details in
Japanese, times in 和暦 (JST) like every other screen. The stored entries stay exactly as
hashed; this only decides how they are shown (the CSV keeps the raw JSON as well)."""
from __future__ import annotations

import datetime as dt
import json

from ..wareki import to_jst, wareki_date

EVENT_LABELS = {
    "revision.accepted": "電子保証の受付",
    "revision.refused": "電子保証の受付拒否",
    "auth_key.reissued": "認証キーの再発行",
    "lookup.succeeded": "照会(成功)",
    "lookup.failed": "照会(失敗)",
    "lookup.locked": "照会(ロック中)",
    "notice.issued": "認証キーのお知らせの発行",
    "notice.refused": "お知らせ発行の拒否",
    "notice.locked": "お知らせ発行(ロック中)",
    "certificate.viewed": "保証証書の閲覧",
    "login.succeeded": "ログイン",
    "login.failed": "ログイン失敗",
    "login.locked": "ログイン(ロック中)",
    "login.device_rejected": "ログイン失敗が続いた端末の記憶の取消し",
    "session.revoked_others": "ほかの端末のログアウト",
    "logout": "ログアウト",
    "user.added": "利用者の追加",
    "user.deactivated": "利用者の無効化",
    "user.reactivated": "利用者の有効化",
    "user.password_reset": "パスワード再設定",
    "user.password_changed": "パスワード変更(本人)",
    "reauthentication.failed": "本人確認の失敗",
    "otp.enrolled": "二段階認証の設定",
    "otp.removed": "二段階認証の解除(本人)",
    "otp.reset": "二段階認証の解除(管理者)",
    "otp.recovery_code_used": "回復コードの使用",
    "otp.recovery_codes_replaced": "回復コードの再発行",
    "organisation.added": "組織の登録",
    "api_client.added": "APIクライアントの登録",
    "api_client.revoked": "APIクライアントの失効",
    "signing_key.added": "署名鍵の登録",
    "signing_key.retired": "署名鍵の廃止",
    "api.authentication_failed": "API認証の失敗",
    "api.forbidden": "API利用の拒否(権限外の操作)",
    "audit.exported": "監査ログのCSV出力",
    "audit.verified": "監査ログの検証",
    "evidence.exported": "証拠パッケージの出力",
    "checkpoint.timestamp_failed": "タイムスタンプ取得の失敗",
    "checkpoint.file_failed": "チェックポイント書き出しの失敗",
    "access.denied": "アクセス拒否",
    "contract.recorded": "契約情報の登録",
    "contract.register_imported": "契約台帳の取込",
    "list.exported": "保証証書一覧のCSV出力",
    "schema.upgraded": "データベースの更新(マイグレーション)",
    "certificates.seeded": "試験用電子保証の一括登録(seed)",
    "user.notifications_changed": "お知らせメールの設定変更",
    "notification.email_sent": "お知らせメールの送信",
    "notification.email_failed": "お知らせメールの送信失敗",
    "notification.email_cancelled": "お知らせメールの取りやめ",
    "webhook.added": "Webhookの登録",
    "webhook.removed": "Webhookの削除",
    "webhook.delivery_attempted": "Webhookの送信",
    "webhook.delivery_cancelled": "Webhook送信の取りやめ",
    "outbox.lease_expired": "通知の送信中断(再送へ)",
    "outbox.retried": "送信できなかった通知の再送",
    "outbox.webhook_abandoned": "Webhook送信の打ち切り",
    "outbox.email_abandoned": "お知らせメール送信の打ち切り",
}

DETAIL_LABELS = {
    "reason": "理由", "address": "接続元アドレス", "email": "メールアドレス",
    "user_id": "利用者ID", "role": "権限", "name": "氏名", "section": "所属",
    "revision": "版", "kind": "対象", "supersedes": "対象の版", "key_id": "署名鍵",
    "fields": "項目", "detail": "詳細", "added_to_list": "一覧への追加", "locked": "ロック対象",
    "until": "ロック期限", "locked_until": "ロック期限", "otp": "二段階認証",
    "device": "記憶済みの端末", "count": "件数", "sessions_ended": "終了したログイン",
    "remaining": "残り", "source": "読み取り元", "status": "状態コード", "endpoint": "画面",
    "method": "方式", "path": "パス", "client_id": "APIクライアントID",
    "obligee_code": "被保証者コード", "arrived_at": "到着日時", "filter": "条件",
    "suppressed": "記録を省略した件数", "must_change_password": "次回パスワード変更",
    "recovery_codes": "回復コード", "from_version": "更新前", "to_version": "更新後",
    "applied": "適用した更新", "require_otp": "二段階認証必須",
    "allow_password_only": "パスワードのみ許可", "prefecture": "都道府県",
}

REASON_LABELS = {
    "wrong_key": "認証キーの誤り", "unknown_number": "保証契約番号が見つからない",
    "malformed_number": "保証契約番号の形式が違う", "other_obligee": "ほかの発注者の保証証書",
    "wrong_password": "パスワードの誤り", "unknown_email": "登録のないメールアドレス",
    "inactive": "無効なアカウント", "wrong_otp": "確認コードの誤り",
    "wrong_recovery_code": "回復コードの誤り", "no_otp": "二段階認証が未設定",
    "forbidden": "権限がない", "not_found": "見つからない", "csrf": "フォームの有効期限切れ・不正な送信",
    "rate_limited": "回数制限", "invalid_signature": "署名が検証できない",
    "invalid_document": "文書の内容が不正", "invalid_text": "使えない文字",
    "revision_conflict": "版の順序・内容の不一致", "unknown_signing_key": "登録のない署名鍵",
    "retired_signing_key": "廃止された署名鍵", "too-large": "大きすぎる",
    "malformed-json": "JSONではない",
}


def parse_utc_text(text: str) -> dt.datetime:
    """A stored occurred_at / created_at text (…Z, microseconds) as naive UTC."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def wareki_time(value: str | dt.datetime | None, *, seconds: bool = True) -> str:
    """令和8年4月1日 10:15:03 (JST) from stored UTC text or a naive UTC datetime."""
    if value is None:
        return ""
    moment = parse_utc_text(value) if isinstance(value, str) else value
    local = to_jst(moment)
    clock = f"{local.hour:02d}:{local.minute:02d}" + (f":{local.second:02d}" if seconds else "")
    return f"{wareki_date(local.date())} {clock}"


def _value_text(key: str, value) -> str:
    if key == "reason" and isinstance(value, str):
        return REASON_LABELS.get(value, value)
    if isinstance(value, bool):
        return "あり" if value else "なし"
    if value is None:
        return "—"
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        return "、".join(str(v) for v in value) or "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def details_lines(details: str) -> list[tuple[str, str]]:
    """(label, value) per detail, in the stored order; the text as it is when it is not
    a JSON object (an entry written by an older release, or tampered with)."""
    try:
        parsed = json.loads(details)
    except (ValueError, TypeError):
        return [("内容", str(details))]
    if not isinstance(parsed, dict):
        return [("内容", str(details))]
    return [(DETAIL_LABELS.get(key, key), _value_text(key, value)) for key, value in parsed.items()]
