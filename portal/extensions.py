"""Flask extensions, created unbound and bound to an app in ``create_app``."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
#: Limits on public endpoints (intakes, PINs, the API) so a script cannot flood them. The
#: client address is the real one when ``PROXY_COUNT`` is set (ProxyFix runs first).
limiter = Limiter(get_remote_address, default_limits=[])
