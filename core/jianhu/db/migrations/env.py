"""Alembic environment: runs on the engine Jianhu passes in ``config.attributes["engine"]``."""

from alembic import context

from jianhu.db.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
