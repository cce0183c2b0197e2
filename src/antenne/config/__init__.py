"""Antenne's settings registry: every environment variable Antenne reads, with its default.

Importable without Django set up (`antenne.settings` imports it). A `Setting` (setting.py)
declares a variable's default once; the declarations are in `declarations.py` (and
`media_telephony.py`), the readers `settings.py` uses in `values.py`, the rendering of
docs/settings.md in `reference.py`, the data directory's permissions in `private_files.py`.
"""

from antenne.config.declarations import SETTINGS
from antenne.config.private_files import (
    UMASK,
    make_private,
    new_private_file,
    private_dir,
    private_file,
)
from antenne.config.reference import markdown
from antenne.config.setting import Setting
from antenne.config.values import (
    FALSE_VALUES,
    TRUE_VALUES,
    ConfigError,
    data_dir,
    get,
    get_bool,
    get_ice_servers,
    get_int,
    get_list,
    get_networks,
    get_rate,
)

__all__ = [
    "FALSE_VALUES",
    "SETTINGS",
    "TRUE_VALUES",
    "UMASK",
    "ConfigError",
    "Setting",
    "data_dir",
    "get",
    "get_bool",
    "get_ice_servers",
    "get_int",
    "get_list",
    "get_networks",
    "get_rate",
    "make_private",
    "markdown",
    "new_private_file",
    "private_dir",
    "private_file",
]
