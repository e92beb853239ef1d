"""audit trail under row-level security, append-only for application roles

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no roles: the scoping layer filters the audit list (jianhu.audit_trail)
    from jianhu.db.rls import enable_row_level_security

    enable_row_level_security(op.get_bind())
    op.execute(sa.text(
        "DO $$ DECLARE r text; BEGIN FOR r IN SELECT rolname FROM pg_roles "
        "WHERE rolname LIKE 'jianhu\\_t\\_%' OR rolname = 'jianhu_county' LOOP "
        "EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM %I', r); "
        "EXECUTE format('GRANT EXECUTE ON FUNCTION jianhu_uuid(text) TO %I', r); "
        "END LOOP; END $$"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(sa.text("DROP POLICY IF EXISTS jianhu_scope ON audit_events"))
    op.execute(sa.text("ALTER TABLE audit_events DISABLE ROW LEVEL SECURITY"))
