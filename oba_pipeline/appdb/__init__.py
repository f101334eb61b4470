"""The application database: what people write (turn-the-curve sessions, notes, accounts, audit).

The pipeline's figures live in DuckDB snapshots; this database holds the partnership's own words and
decisions, which must survive every refresh. It is reached only through SQLAlchemy, so the same code runs
on SQLite (the default, one file under OBA_HOME/app) and on PostgreSQL (set OBA_APP_DB_URL).

Feature modules declare their tables on `Base` and import nothing else from here but `Base`,
`session_scope` and `record_audit`; `create_schema` makes every table that is missing.
"""

from oba_pipeline.appdb.audit import AuditEvent, record_audit
from oba_pipeline.appdb.base import Base
from oba_pipeline.appdb.engine import app_db_url, create_schema, make_engine, session_scope

__all__ = ["AuditEvent", "Base", "app_db_url", "create_schema", "make_engine", "record_audit", "session_scope"]
