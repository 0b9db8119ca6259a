from recsys_challenges.cli import main

raise SystemExit(main())
