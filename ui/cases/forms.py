"""The printed case forms: ``GET /cases/{id}/forms/<kind>.pdf`` (相談受付・申込票, アセスメントシート, 支援プラン,
評価シート, 終結記録).

Whoever may open the case may print its forms, within their consent scope (the case file of the reader, as the case
page: agency staff print only the forms whose item their consent allows); opening is audited as a READ like the case
page, and the print itself as an EXPORT with the form's kind, since the paper carries 要配慮個人情報 out of the system.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit.trail import AuditAction, record
from core.cases import service
from core.cases.service import BreakGlassRequired, Forbidden, NotFound
from core.documents import case_forms
from core.documents.download import attachment
from core.documents.glyphs import set_missing_as_geta
from core.documents.pdf import PdfUnavailable, html_to_pdf
from core.wareki import today
from ui.errors import respond


async def render_case_form(request: Request, db: AsyncSession, case_id: uuid.UUID, kind: str,
                           labels: Mapping[str, Any]) -> str:
    """The form's HTML for a case the caller may open; ``labels`` are the case pages' code → words tables."""
    principal = request.scope["user"]
    case = await service.open_case(db, principal, case_id)
    file = await service.case_file(db, case, principal)
    form = case_forms.build_form(kind, file, principal.tenant_name or principal.tenant_id, today())
    template = request.app.template_engine.get_template(f"forms/{kind}.html")
    html = template.render(form=form, footer=case_forms.SENSITIVE_FOOTER, no_consent=case_forms.NO_CONSENT, **labels)
    return set_missing_as_geta(html)


async def print_form(request: Request, db: AsyncSession, case_id: uuid.UUID, name: str,
                     labels: Mapping[str, Any]) -> Response:
    """The PDF of one form (``name`` is ``<kind>.pdf``), audited as an EXPORT of the case."""
    kind = name.removesuffix(".pdf")
    if not name.endswith(".pdf") or kind not in case_forms.FORM_TITLES:
        raise NotFoundException(detail="その帳票はありません。")
    try:
        html = await render_case_form(request, db, case_id, kind, labels)
    except NotFound:
        raise NotFoundException(detail="ケースが見つかりません。") from None
    except (BreakGlassRequired, Forbidden) as exc:
        return respond(request, 403, message=exc.message)
    except case_forms.FormOutsideConsent as exc:  # returned, so the DENIED event is committed with the READ
        await record(db, AuditAction.DENIED, "case", case_id, reason=f"form={kind}: outside consent")
        return respond(request, 403, message=exc.message)
    try:
        pdf = await html_to_pdf(html)
    except PdfUnavailable:
        return respond(request, 503, message="PDFを作成できませんでした。時間をおいてもう一度お試しください。")
    await record(db, AuditAction.EXPORT, "case", case_id, reason=f"form={kind}")
    case = await service.get_case(db, case_id)
    filename = f"{case_forms.FORM_TITLES[kind]}_{case.case_number}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={**attachment(filename, f"case-{kind}.pdf"), "Cache-Control": "no-store"})
