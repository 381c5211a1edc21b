"""`python -m exporter` runs the same command line as `okta-group-push-exporter`."""

from exporter.cli import main

raise SystemExit(main())
