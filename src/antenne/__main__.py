from antenne.cli import main

raise SystemExit(main())
