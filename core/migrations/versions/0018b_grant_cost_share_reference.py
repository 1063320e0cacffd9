"""負担割合 per 事業 × 分野 (the 交付要綱's table), kept with its source and the 年度 it applies from.

``grant_cost_share_reference`` (global, public reference data): for each of the five 事業 and each 分野, who pays
what part — 国, 都道府県, 市町村, 第1号保険料 and, for the 一般介護予防事業 part of 地域づくり (高齢), the 第2号保険料
(支払基金交付金) that the older per-field table could not hold. Parts are integers over ``denominator``. The row in
force for a 年度 is the latest ``effective_from`` not after it; a new 交付要綱 adds rows, it does not edit them.
``source`` names the document each row was read from.

The seeded rows restate the 令和3年度 重層的支援体制整備事業交付金交付要綱 別表 as the grant domain already used it per
field (0008), split by 事業; 地域づくり×高齢 is the 一般介護予防事業 part (介護予防・日常生活支援総合事業 の負担).
A municipality must check them against the 年度's 交付要綱 before filing (docs/grants-inputs.md).

Revision ID: 0018b
Revises: 0018
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from core.tenancy.ddl import global_table

revision = "0018b"
down_revision = "0018"
branch_labels = None
depends_on = None

SOURCE = "重層的支援体制整備事業交付金交付要綱（令和3年度）別表の負担区分（厚生労働省）"
# 分野 → (国, 県, 市町村, 1号, 2号, 分母, 財源) of each 事業's existing-programme part.
ELDERLY = (3850, 1925, 1925, 2300, 0, 10000, "地域支援事業交付金（包括的支援事業）")
PREVENTION = (2500, 1250, 1250, 2300, 2700, 10000, "地域支援事業交付金（一般介護予防事業）・支払基金交付金")
DISABILITY = (2, 1, 1, 0, 0, 4, "地域生活支援事業費等補助金")
CHILD = (1, 1, 1, 0, 0, 3, "子ども・子育て支援交付金")
POVERTY = (3, 0, 1, 0, 0, 4, "生活困窮者自立相談支援事業費等国庫負担金")
POVERTY_COMMUNITY = (1, 0, 1, 0, 0, 2, "生活困窮者就労準備支援事業費等補助金")
NEW = (2, 1, 1, 0, 0, 4, "重層的支援体制整備事業交付金（新たな機能）")

PARTS = ("state", "prefecture", "municipality", "insurance", "insurance_2", "denominator")
TABLE = {
    "consultation": {"elderly": ELDERLY, "disability": DISABILITY, "child": CHILD, "poverty": POVERTY,
                     "new_functions": NEW},
    "community": {"elderly": PREVENTION, "disability": DISABILITY, "child": CHILD, "poverty": POVERTY_COMMUNITY,
                  "new_functions": NEW},
    "participation": {f: NEW for f in ("elderly", "disability", "child", "poverty", "new_functions")},
    "outreach": {f: NEW for f in ("elderly", "disability", "child", "poverty", "new_functions")},
    "multi_agency": {f: NEW for f in ("elderly", "disability", "child", "poverty", "new_functions")},
}


def upgrade() -> None:
    table = op.create_table(
        "grant_cost_share_reference",
        sa.Column("business", sa.String(20), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("effective_from", sa.SmallInteger(), nullable=False),
        sa.Column("funding_stream", sa.String(200), nullable=False),
        *(sa.Column(part, sa.Integer(), nullable=False) for part in PARTS),
        sa.Column("source", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("business", "field", "effective_from", name="pk_grant_cost_share_reference"),
        sa.CheckConstraint(
            "state >= 0 AND prefecture >= 0 AND municipality >= 0 AND insurance >= 0 AND insurance_2 >= 0 "
            "AND denominator > 0 AND state + prefecture + municipality + insurance + insurance_2 = denominator",
            name="ck_grant_cost_share_reference_parts",
        ),
        sa.CheckConstraint("effective_from BETWEEN 2000 AND 2100", name="ck_grant_cost_share_reference_year"),
    )
    rows = []
    for business, fields in TABLE.items():
        for field, (state, pref, muni, ins1, ins2, den, stream) in fields.items():
            rows.append({"business": business, "field": field, "effective_from": 2021, "funding_stream": stream,
                         "state": state, "prefecture": pref, "municipality": muni, "insurance": ins1,
                         "insurance_2": ins2, "denominator": den, "source": SOURCE})
    op.bulk_insert(table, rows)
    global_table("grant_cost_share_reference")


def downgrade() -> None:
    op.drop_table("grant_cost_share_reference")
