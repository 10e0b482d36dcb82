from exporter.main import main

raise SystemExit(main())
