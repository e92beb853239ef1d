"""the due list's index covers what the list reads (benchmarks/due_list.py: one township at a
million tasks)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 02:30:00
"""

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

OLD = ("township_id", "status", "due_on")
NEW = ("township_id", "status", "due_on", "kind", "due_at", "owner", "case_id", "id")


def upgrade() -> None:
    op.drop_index("ix_followups_due", table_name="followups")
    op.create_index("ix_followups_due", "followups", list(NEW))


def downgrade() -> None:
    op.drop_index("ix_followups_due", table_name="followups")
    op.create_index("ix_followups_due", "followups", list(OLD))
