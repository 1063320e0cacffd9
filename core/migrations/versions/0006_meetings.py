"""meetings: placeholder revision, filled in by the issue that builds this domain.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
