"""Domain layer of the WBL placement scheduler: models, term bundles, schedules, travel, CLI.

Imports run one way, ``web -> wbl -> solver``: nothing here imports Flask.
"""

__version__ = "0.1.0"
