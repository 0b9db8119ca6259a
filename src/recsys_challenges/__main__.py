# the determinism pins go into the environment before anything imports numpy or torch
from recsys_challenges import allocator, determinism

determinism.apply()
allocator.keep_freed_memory()

from recsys_challenges.cli import main  # noqa: E402  (after the pins, on purpose)

raise SystemExit(main())
