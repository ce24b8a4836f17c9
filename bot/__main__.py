"""`python -m bot` is the `minhu` command."""

from bot.cli import main

raise SystemExit(main())
