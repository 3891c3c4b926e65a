"""``python -m lemmata`` is the ``lemmata`` command."""
from .cli import main

raise SystemExit(main())
