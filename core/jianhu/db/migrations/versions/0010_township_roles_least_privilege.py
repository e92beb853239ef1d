"""township roles: functions with a fixed search_path, per-command policies, read-only reference
tables, no access to alembic_version

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from jianhu.db.rls import enable_row_level_security, restrict_role

    conn = op.get_bind()
    enable_row_level_security(conn)
    for (role,) in conn.execute(sa.text(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'jianhu\\_t\\_%' "
            "OR rolname = 'jianhu_county'")).all():
        restrict_role(conn, role)


def downgrade() -> None:
    pass  # the stricter grants and policies are kept
