from gdl_studio.cli import main

raise SystemExit(main())
