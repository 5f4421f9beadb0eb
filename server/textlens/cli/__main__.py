"""`python -m textlens.cli ...` is the `textlens` command."""

from textlens.cli.main import main

raise SystemExit(main())
