"""``python -m telestrations`` is the same command as ``telestrations``."""

from telestrations.cli import main

raise SystemExit(main())
