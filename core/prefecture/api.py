"""The prefecture's aggregates as JSON (``/api/prefecture/aggregates``): the same protected table as the page."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from core import wareki
from core.grants.api import prefecture_only
from core.prefecture import service
from core.prefecture.aggregates import METRICS, monthly_aggregates
from core.prefecture.exports import aggregate_json
from core.problems import refusal
from core.wareki import fiscal_year_of


@get("/aggregates", guards=[prefecture_only])
async def prefecture_aggregates(request: Request, db: NamedDependency[AsyncSession],
                                metric: FromQuery[str] = "consultations",
                                fiscal_year: FromQuery[int | None] = None) -> Response | dict[str, Any]:
    if metric not in METRICS:
        return refusal(request, 400, "項目が正しくありません。",
                       "metric には " + "、".join(METRICS) + " のいずれかを指定してください。")
    if fiscal_year is not None and not 2000 <= fiscal_year <= 2100:
        return refusal(request, 400, "年度が正しくありません。", "fiscal_year は 2000〜2100 の西暦で指定してください。")
    year = fiscal_year if fiscal_year is not None else fiscal_year_of(wareki.today())
    municipalities = service.municipalities()
    table = (await monthly_aggregates(db, year, [m.code for m in municipalities], [metric]))[metric]
    return aggregate_json(table, municipalities)


def prefecture_aggregates_router() -> Router:
    return Router(path="/api/prefecture", route_handlers=[prefecture_aggregates], tags=["県集計"])
