"""row-level security policies test the county role before calling jianhu_visible (the county
report at a province's scale, benchmarks/province.py)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 14:20:00
"""

from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no roles or policies
    from jianhu.db.rls import enable_row_level_security

    enable_row_level_security(op.get_bind())  # drops and makes every policy again


def downgrade() -> None:
    pass  # the policies before and after admit the same rows
