from playground.tools.cli import main

raise SystemExit(main())
