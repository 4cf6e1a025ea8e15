"""Imports every model module so the metadata is complete (for Alembic and tests)."""

from portal.agency import models as agency_models  # noqa: F401
from portal.auth import models as auth_models  # noqa: F401
from portal.people import models as people_models  # noqa: F401
from portal.intake import models as intake_models  # noqa: F401
from portal.api import models as api_models  # noqa: F401
from portal.appointments import models as appointments_models  # noqa: F401
