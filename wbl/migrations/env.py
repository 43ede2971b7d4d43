"""Alembic environment: migrates the engine handed over by :func:`wbl.db.upgrade`.

Run from the command line (``alembic -c alembic.ini upgrade head``) it uses
``WBL_DATABASE_URL`` like the application does.
"""

from alembic import context

from wbl.db import make_engine
from wbl.models import Base

config = context.config
engine = config.attributes.get("engine") or make_engine()

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
